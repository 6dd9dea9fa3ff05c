"""One-time codes for the world's MFA devices that `awsid serve` accepts in sequence.

The server accepts a code of the current 30-second step or the one before or after it, and only
for a step later than the last one it accepted for the device (no replay). `next_code` hands out
the codes of increasing steps, remembering the last one in a state file, so that several
processes (an `mfa_process`, a fake `ykman`, the test typing into a terminal) never offer the
server a step it has already seen. Three codes per device fit in one step; a fourth waits for
the next step.

Run as a script (`python totp_code.py SECRET STATE [LOG]`) it prints one code, the way an
`mfa_process` must, and appends a line to LOG when given (tests count the calls).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import struct
import sys
import time
from pathlib import Path

STEP = 30


def code_at_step(secret_base32: str, step: int) -> str:
    """RFC 6238 (SHA-1, 6 digits) for counter `step`."""
    key = base64.b32decode(secret_base32.upper() + "=" * (-len(secret_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def next_code(secret_base32: str, state: Path) -> str:
    """The code of the earliest step the server still accepts and has not seen from us."""
    state.touch()
    with open(state, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        text = f.read().strip()
        last = int(text) if text else -1
        while True:
            now = int(time.time()) // STEP
            step = max(last + 1, now - 1)
            if step <= now + 1:
                break
            # All three acceptable steps are used up: the next one opens with the next step.
            time.sleep((now + 1) * STEP - time.time() + 0.05)
        f.seek(0)
        f.truncate()
        f.write(str(step))
    return code_at_step(secret_base32, step)


if __name__ == "__main__":
    code = next_code(sys.argv[1], Path(sys.argv[2]))
    if len(sys.argv) > 3:
        with open(sys.argv[3], "a") as log:
            log.write(code + "\n")
    print(code)
