"""Schemathesis hooks for tests/tests/schema_conformance.rs (loaded through SCHEMATHESIS_HOOKS).

An Idempotency-Key promises the server that a retry carries the same body; a key sent again
with another body is refused (422 `idempotency_key_reused`, as the IETF draft asks). A schema
cannot say "unique per request", so a valid generated key gets a fresh suffix here (still
valid), as a real client's would be fresh; an invalid one (a negative case) is left as it is.
"""

import re
import uuid

import schemathesis

VALID = re.compile(r"^[!-~]{1,200}$")


@schemathesis.hook
def before_call(ctx, case, kwargs):
    # Every phase (the coverage phase's fixed cases too) passes here just before the call.
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and VALID.match(key):
        headers["Idempotency-Key"] = f"{key[:168]}{uuid.uuid4().hex}"
