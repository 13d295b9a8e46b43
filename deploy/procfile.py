"""The Procfile is the one list of Sulh's processes; this script runs it under a supervisor.

    python deploy/procfile.py supervise   render supervisord's configuration from the Procfile and run supervisord
                                          in the foreground: a process that dies is started again, Ctrl-C stops all
    python deploy/procfile.py config      print that configuration (what `supervise` runs)
    python deploy/procfile.py run NAME    run one Procfile entry in the foreground (the systemd units use this)

honcho, which ran the Procfile before, stops every process when one dies (shared/PITFALLS.md); supervisord restarts
the one that died and leaves the others alone. Each entry runs as `/bin/sh -c 'exec <line>'` from the repository's
root, so `${HOST:-127.0.0.1}` and the like mean what they mean in the Procfile, and the process supervisord (or
systemd) watches, signals and kills is the program itself, not a shell. Logs go to stdout and stderr only.
The supervisor's socket, pid file and rendered configuration live in a runtime directory outside the repository:
$SULH_RUNTIME_DIR if set, else a fresh temporary directory; `supervise` prints how to reach it with supervisorctl.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "Procfile"
_ENTRY = re.compile(r"^([A-Za-z0-9_-]+)\s*:\s*(.+)$")


def entries(procfile: Path = PROCFILE) -> dict[str, str]:
    """The Procfile's processes, name to command line, in file order."""
    found: dict[str, str] = {}
    for line in procfile.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ENTRY.match(line.strip())
        if match is None:
            raise SystemExit(f"{procfile}: not a Procfile line: {line!r}")
        found[match.group(1)] = match.group(2).strip()
    return found


def _shell(command: str) -> list[str]:
    return ["/bin/sh", "-c", f"exec {command}"]


def render(runtime_dir: Path, procfile: Path = PROCFILE) -> str:
    """supervisord's configuration for the Procfile: every process restarted when it dies, logs to stdout/stderr."""
    socket = runtime_dir / "supervisor.sock"
    sections = [
        "[supervisord]",
        "nodaemon=true",
        # In the foreground supervisord writes its own log to stdout as well; no log file anywhere.
        "logfile=/dev/null",
        "logfile_maxbytes=0",
        f"pidfile={runtime_dir / 'supervisord.pid'}",
        f"childlogdir={runtime_dir}",
        "",
        "[unix_http_server]",
        f"file={socket}",
        "chmod=0700",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{socket}",
        "",
    ]
    for name, command in entries(procfile).items():
        # supervisord expands %(name)s in a command: a literal % in the Procfile is written %%.
        line = shlex.join(_shell(command)).replace("%", "%%")
        sections += [
            f"[program:{name}]",
            f"command={line}",
            f"directory={ROOT}",
            "autostart=true",
            "autorestart=true",
            # A start that fails (the database not up yet) is tried again many times before supervisord gives up.
            "startsecs=1",
            "startretries=30",
            # Stop and kill the whole process group: the Celery worker's pool processes go with it.
            "stopasgroup=true",
            "killasgroup=true",
            "stopwaitsecs=20",
            "stdout_logfile=/dev/stdout",
            "stdout_logfile_maxbytes=0",
            "stderr_logfile=/dev/stderr",
            "stderr_logfile_maxbytes=0",
            "",
        ]
    return "\n".join(sections)


def _runtime_dir() -> Path:
    configured = os.environ.get("SULH_RUNTIME_DIR", "")
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path
    return Path(tempfile.mkdtemp(prefix="sulh-supervisor-"))


def supervise() -> None:
    runtime_dir = _runtime_dir()
    config = runtime_dir / "supervisord.conf"
    config.write_text(render(runtime_dir))
    supervisord = Path(sys.executable).parent / "supervisord"
    program = str(supervisord) if supervisord.exists() else shutil.which("supervisord")
    if program is None:
        raise SystemExit("supervisord is not installed: make install")
    print(f"Supervised by supervisord; status: {Path(program).parent / 'supervisorctl'} -c {config} status", flush=True)
    os.execv(program, [program, "--nodaemon", "--configuration", str(config)])


def run(name: str) -> None:
    known = entries()
    if name not in known:
        raise SystemExit(f"No process {name!r} in the Procfile (it has {', '.join(known)})")
    os.chdir(ROOT)
    command = _shell(known[name])
    os.execv(command[0], command)


def main(argv: list[str]) -> None:
    if argv[:1] == ["supervise"] and len(argv) == 1:
        supervise()
    elif argv[:1] == ["config"] and len(argv) == 1:
        # Shown, not run: the runtime directory is named but not made.
        print(render(Path(os.environ.get("SULH_RUNTIME_DIR") or "/run/sulh")))
    elif argv[:1] == ["run"] and len(argv) == 2:
        run(argv[1])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
