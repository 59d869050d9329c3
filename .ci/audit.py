"""`make audit`: pip-audit where its vulnerability service can be reached, and a plain
statement where it cannot. Never fails for lack of network (exit 0 then); exits 1 only
when known vulnerabilities are found."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> int:
    try:
        done = subprocess.run(
            [str(BIN / "pip-audit"), "--skip-editable", "--progress-spinner", "off", "-f", "json"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"pip-audit could not run ({exc}): dependencies NOT audited.")
        return 0
    try:
        report = json.loads(done.stdout)
    except ValueError:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit: vulnerability service unreachable ({reason[:200]}): NOT audited.")
        return 0
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    if deps and not audited:
        print(
            f"pip-audit: the vulnerability service answered for none of the {len(deps)} "
            "packages (no network or a mirror without its JSON API): NOT audited."
        )
        return 0
    print(
        f"pip-audit: {len(audited)} packages audited, {len(deps) - len(audited)} skipped, "
        f"{len(vulnerable)} with known vulnerabilities."
    )
    for dep in vulnerable:
        ids = ", ".join(v["id"] for v in dep["vulns"])
        print(f"  {dep['name']} {dep['version']}: {ids}")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
