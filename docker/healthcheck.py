#!/usr/bin/env python3
"""The image's HEALTHCHECK: GET the process's /healthz (`HEALTHCHECK_URL`, set per image)
and exit 0 only on HTTP 200. The process answers 503 when its main cycle stopped completing
(oracle/observe/health.py), which makes the container unhealthy. Standard library only: the
image has no curl."""

import os
import sys
import urllib.error
import urllib.request

URL = os.environ.get("HEALTHCHECK_URL", "http://127.0.0.1:9400/healthz")


def main() -> int:
    try:
        with urllib.request.urlopen(URL, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:
        sys.stderr.write(f"{URL}: HTTP {exc.code}\n")
    except OSError as exc:
        sys.stderr.write(f"{URL}: {exc}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
