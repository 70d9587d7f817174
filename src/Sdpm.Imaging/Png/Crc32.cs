namespace Sdpm.Imaging.Png;

/// <summary>CRC-32 (ISO 3309, as PNG uses it), slicing-by-4 table implementation.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[4 * 256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        for (var n = 0; n < 256; n++)
            for (var s = 1; s < 4; s++) t[s * 256 + n] = (t[(s - 1) * 256 + n] >> 8) ^ t[t[(s - 1) * 256 + n] & 0xFF];
        return t;
    }

    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var c = ~crc;
        var i = 0;
        for (; i + 4 <= data.Length; i += 4)
        {
            c ^= (uint)(data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24);
            c = Table[768 + (c & 0xFF)] ^ Table[512 + ((c >> 8) & 0xFF)] ^ Table[256 + ((c >> 16) & 0xFF)] ^ Table[c >> 24];
        }
        for (; i < data.Length; i++) c = Table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
        return ~c;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);
}
