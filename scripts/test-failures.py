#!/usr/bin/env python3
"""Prints each failed test of a run's TRX files with the start of its message, so the tail of a CI log names them."""
import glob, sys, xml.etree.ElementTree as ET

ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
failed = []
for path in sorted(glob.glob(sys.argv[1] + "/*.trx")):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        failed.append((path, f"unreadable TRX: {e}"))
        continue
    for result in root.iterfind(".//t:UnitTestResult", ns):
        if result.get("outcome") in ("Passed", "NotExecuted"):
            continue
        message = result.findtext(".//t:ErrorInfo/t:Message", default="", namespaces=ns).strip()
        stack = result.findtext(".//t:ErrorInfo/t:StackTrace", default="", namespaces=ns).strip()
        first_frames = "\n".join(stack.splitlines()[:4])
        failed.append((result.get("testName"), (message[:1500] + "\n" + first_frames).strip()))
if failed:
    print(f"== {len(failed)} failed test(s)")
    for name, text in failed:
        print(f"-- FAILED {name}")
        for line in text.splitlines():
            print("   " + line)
