"""What the scripts that drive ./sdpm share: a work folder with a log, timestamped messages, and ./sdpm calls that stop
the script on failure."""
import os
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# SDPM_CLI overrides the command (for example "dotnet /tmp/sdpm-copy/sdpm.dll", a frozen build that a rebuild of the
# working tree cannot change under a long run).
SDPM = shlex.split(os.environ["SDPM_CLI"]) if os.environ.get("SDPM_CLI") else [os.path.join(ROOT, "sdpm")]


class Session:
    def __init__(self, work, log_name):
        self.work = os.path.abspath(work)
        os.makedirs(self.work, exist_ok=True)
        os.chdir(self.work)
        self.log_name = log_name
        self.log = open(log_name, "a")

    def say(self, text):
        line = f"{time.strftime('%H:%M:%S')} {text}"
        print(line, flush=True)
        self.log.write(line + "\n")
        self.log.flush()

    def run(self, *args, out=None):
        """Runs ./sdpm with args; stdout to a file when given; stops the script on failure."""
        with open(out, "w") if out else open(os.devnull, "w") as sink:
            code = subprocess.call([*SDPM, *args], stdout=sink, stderr=self.log)
        if code != 0:
            sys.exit(f"sdpm {' '.join(args)} failed with exit code {code} (see {self.work}/{self.log_name})")
