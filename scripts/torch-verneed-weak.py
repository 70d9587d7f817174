#!/usr/bin/env python3
"""Marks one version need of an ELF64 little-endian shared library weak (VER_FLG_WEAK), in place.

Usage: torch-verneed-weak.py LIB VERSION    e.g. libLibTorchSharp.so GLIBCXX_3.4.32
Exit 0 when the need is (now or already) weak or absent; 1 on a malformed file.
With the flag set the dynamic loader no longer refuses the library when the host's libstdc++
lacks that version; the one symbol bound to it must be unversioned separately (patchelf).
"""
import struct
import sys

SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


def main(path: str, version: str) -> int:
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            print(f"{path}: not an ELF64 little-endian file", file=sys.stderr)
            return 1
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)

        def section(i):
            # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, ...
            return struct.unpack_from("<IIQQQQII", data, shoff + i * shentsize)

        for i in range(shnum):
            _, stype, _, _, off, _, link, count = section(i)
            if stype != SHT_GNU_VERNEED:
                continue
            stroff = section(link)[4]
            pos = off
            for _ in range(count):
                _, vn_cnt, _, vn_aux, vn_next = struct.unpack_from("<HHIII", data, pos)
                aux = pos + vn_aux
                for _ in range(vn_cnt):
                    _, flags, _, name, next_aux = struct.unpack_from("<IHHII", data, aux)
                    end = data.index(0, stroff + name)
                    if data[stroff + name:end].decode() == version:
                        if flags & VER_FLG_WEAK:
                            return 0
                        struct.pack_into("<H", data, aux + 4, flags | VER_FLG_WEAK)
                        f.seek(0)
                        f.write(data)
                        return 0
                    aux += next_aux
                pos += vn_next
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
