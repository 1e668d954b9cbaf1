"""Schemathesis hooks for tests/tests/schema_conformance.rs (loaded through SCHEMATHESIS_HOOKS).

They supply what a schema cannot say, the way a real client would, and nothing else; each case
still carries the generated values everywhere else:

- An Idempotency-Key promises that a retry carries the same body; a key sent again with another
  body is refused (422 `idempotency_key_reused`, as the IETF draft asks). "Unique per request" is
  not a schema property, so a valid generated key gets a fresh suffix (still valid); an invalid
  one (a negative case) is left as it is.
- References to objects that exist: a department code in a body or query names a real department
  (`billing`, which the department staff and head roles of the run belong to), and a staff member
  reassigned to names a real agent. An unknown one is a 422 the document describes, but a
  schema-valid random code would be "refused valid data" for every case.
- Coupled fields: only department staff have a department (a new staff member's `department` is
  kept for `department_staff` and dropped otherwise); a problem opened by an agent or a supervisor
  names its department; a customer is looked up (and a web form sent) with a phone number or an
  email; the web form's honeypot stays empty, as a person leaves it.
- Requests linked to a problem are ones that exist (`KOMEK_REQUEST_NUMBER`, made by the test), and a
  problem's resolution has a text for each language of its linked requests.
- A department's hours open before they close; a new login comes with a password.
"""

import os
import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"^[!-~]{1,200}$")
# What a schema allows for a code or a login (`maxLength` 32 or 64): any value is replaced.
CODE = re.compile(r"^.{0,64}$", re.S)
DEPARTMENT = "billing"
OTHER_DEPARTMENT = "network"
CUSTOMER_PHONE = "+77011234567"
# A request the test made before the runs (tests/tests/schema_conformance.rs sets it).
EXISTING_REQUEST = os.environ.get("KOMEK_REQUEST_NUMBER", "KM-000001")
AGENT = "daniyar"
HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")
# Operations whose `department` query a supervisor must give (department staff default to theirs).
SUPERVISOR_NAMES_DEPARTMENT = {"/api/v1/escalations", "/api/v1/department/stats"}


@schemathesis.hook
def before_call(ctx, case, kwargs):
    # Every phase (the coverage phase's fixed cases too) passes here just before the call.
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and VALID_KEY.match(key):
        headers["Idempotency-Key"] = f"{key[:168]}{uuid.uuid4().hex}"

    body = case.body if isinstance(case.body, dict) else None
    path = case.operation.path
    method = case.method.upper()
    if body is not None:
        department = body.get("department")
        role = body.get("role")
        staff_role = isinstance(role, str) and role.startswith("department")
        if method == "PATCH" and department is not None and not staff_role:
            # A change of department is for department staff; the login's role is unknown here.
            body.pop("department", None)
        elif role is not None and not staff_role:
            body.pop("department", None)
        elif isinstance(department, str) and CODE.match(department):
            # A rejected escalation goes to another department than the one it is in.
            body["department"] = OTHER_DEPARTMENT if path.endswith("/reject") else DEPARTMENT
        elif staff_role and department is None:
            body["department"] = DEPARTMENT
        if isinstance(body.get("agent"), str) and CODE.match(body["agent"]):
            body["agent"] = AGENT

    if body is not None and method == "POST":
        if path == "/api/v1/problems" and body.get("department") is None:
            body["department"] = DEPARTMENT
        if path == "/api/v1/problems/{id}/resolve" and isinstance(body.get("messages"), dict):
            # Every language of a linked open request needs its text.
            for lang in ("kk", "ru", "en"):
                if not str(body["messages"].get(lang) or "").strip():
                    body["messages"][lang] = "Resolved"
        numbers = body.get("numbers")
        if path.endswith("/requests") and isinstance(numbers, list) and 1 <= len(numbers) <= 1000:
            body["numbers"] = [EXISTING_REQUEST]
    if body is not None and method == "PUT":
        hours = body.get("hours")
        if isinstance(hours, dict) and all(
            isinstance(hours.get(k), str) and HHMM.match(hours[k]) for k in ("open", "close")
        ) and hours["open"] >= hours["close"]:
            hours["open"], hours["close"] = "09:00", "18:00"
        if path == "/api/v1/staff/{login}" and body.get("password") is None:
            body["password"] = "komek-fuzz-pass"
    if body is not None and path == "/form" and method == "POST":
        # A person never fills in the off-screen honeypot (filled in, the form is answered as
        # accepted whatever it holds), and gives a phone number or an email.
        body["website"] = ""
        if not str(body.get("phone") or "").strip() and not str(body.get("email") or "").strip():
            body["phone"] = CUSTOMER_PHONE
    query = case.query if isinstance(case.query, dict) else None
    if path == "/api/v1/customers" and method == "GET":
        if query is None:
            case.query = query = {}
        if not str(query.get("phone") or "").strip() and not str(query.get("email") or "").strip():
            query["phone"] = CUSTOMER_PHONE
    if path in SUPERVISOR_NAMES_DEPARTMENT and case.method.upper() == "GET":
        if query is None:
            case.query = query = {}
        dep = query.get("department")
        if dep is None or (isinstance(dep, str) and CODE.match(dep)):
            query["department"] = DEPARTMENT
