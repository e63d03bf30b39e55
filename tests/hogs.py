"""Child processes (``python -c``) that stand out under a known name: one burns two CPUs, one holds 800 MiB.

Shared by the top-processes context tests and the agent test that sends it; prctl(PR_SET_NAME) gives the
``comm`` name the context lines must show.
"""

BURN = ("import ctypes, hashlib, threading; ctypes.CDLL(None).prctl(15, b'otelmon-burn', 0, 0, 0)\n"
        "blob = b'x' * (1 << 20)\n"
        "def spin():\n"
        "    while True: hashlib.sha256(blob).digest()\n"  # hashlib lets go of the GIL: two threads, two CPUs
        "threading.Thread(target=spin, daemon=True).start()\n"
        "spin()")
HOLD = ("import ctypes, time; ctypes.CDLL(None).prctl(15, b'otelmon-hold', 0, 0, 0)\n"
        "block = b'x' * (800 << 20); print('ready', flush=True); time.sleep(600)")
