"""The client against the Origami v2 OpenAPI contract.

(a) every request the client sends (path, query, headers, body) validates against the spec;
(b) every example response the spec gives for the endpoints the client uses parses into our
models and, for errors, into the right exception class;
(c) instances generated from the spec's schemas (only required fields with nulls, and every
field filled) parse, both through the models and through the client methods.

The spec lives outside the repository (``../shared/origami/openapi-v2.yaml``); a user's
clone does not have it, and then these tests skip.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from bot.origami import errors
from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
from bot.origami.models import CreatedAgent, ErrorBody, Run, RunStatus, Table

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT.parent / "shared" / "origami" / "openapi-v2.yaml"
SKIP_REASON = "shared OpenAPI spec not present (user clone)"
SPEC_URI = "urn:origami:openapi-v2"
BASE_URL = "https://origami.test/api/v2"

# The operations the client calls, as (method, spec path).
USED = [
    ("post", "/agents"),
    ("post", "/agents/{id}/runs"),
    ("get", "/agents/{id}/runs/{runId}"),
    ("post", "/agents/{id}/cancel"),
    ("get", "/tables/{tableId}"),
    ("get", "/tables/{tableId}/rows"),
]

EXPECTED_ERROR = {
    "UNAUTHORIZED": errors.Unauthorized,
    "VALIDATION_ERROR": errors.InvalidRequest,
    "INSUFFICIENT_CREDITS": errors.InsufficientCredits,
    "SUBSCRIPTION_REQUIRED": errors.SubscriptionRequired,
    "BUDGET_EXCEEDED": errors.BudgetExceeded,
    "ACCOUNT_BLOCKED": errors.AccountBlocked,
    "WORKSPACE_LIMIT_REACHED": errors.Forbidden,
    "AGENT_NOT_FOUND": errors.NotFound,
    "RUN_NOT_FOUND": errors.NotFound,
    "TABLE_NOT_FOUND": errors.NotFound,
    "AGENT_BUSY": errors.AgentBusy,
    "CONCURRENT_LIMIT_EXCEEDED": errors.ConcurrencyLimited,
}


# -- loading the spec ------------------------------------------------------------------------


@functools.cache
def load_spec() -> dict[str, Any] | None:
    if not SPEC_PATH.is_file():
        return None
    with SPEC_PATH.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    assert isinstance(data, dict)
    return data


def spec_or_skip() -> dict[str, Any]:
    spec = load_spec()
    if spec is None:
        pytest.skip(SKIP_REASON)
    return spec


def no_spec_params() -> list[Any]:
    return [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON), id="no-spec")]


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0-style ``nullable: true`` (still used in this 3.1 file) as JSON Schema."""
    if isinstance(node, list):
        return [to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items()}
    if out.get("nullable") is True:
        del out["nullable"]
        return {"anyOf": [{"type": "null"}, out]}
    return out


@functools.cache
def registry() -> Registry[Any]:
    spec = load_spec()
    assert spec is not None
    resource = DRAFT202012.create_resource(to_json_schema(spec))
    loaded: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return loaded


def pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def validator(json_pointer: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{json_pointer}"},
        registry=registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def validation_errors(json_pointer: str, instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator(json_pointer).iter_errors(instance)
    ]


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref``s (``#/components/...``) until a real node."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def ref_pointer(node: dict[str, Any], fallback: str) -> str:
    ref = node.get("$ref")
    return ref[1:] if isinstance(ref, str) else fallback


# -- instances generated from schemas --------------------------------------------------------

FIXED_UUID = "3f2b8c1e-7d4a-4e6b-9c0d-1a2b3c4d5e6f"


def merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(out[k], v) if k in out else v
        return out
    return b if b is not None else a


def generate(spec: dict[str, Any], schema: Any, *, full: bool) -> Any:
    """An instance of ``schema``: ``full=False`` has required fields only and nulls wherever
    allowed; ``full=True`` fills every property with a non-null value."""
    schema = resolve(spec, schema)
    if not isinstance(schema, dict):
        return None
    if schema.get("nullable") is True and not full:
        return None
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    if "allOf" in schema:
        result: Any = None
        for sub in schema["allOf"]:
            result = merge(result, generate(spec, sub, full=full))
        rest = {k: v for k, v in schema.items() if k not in ("allOf", "nullable")}
        if rest.get("properties") or rest.get("required"):
            result = merge(result, generate(spec, rest, full=full))
        return result
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return generate(spec, schema[key][0], full=full)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(t for t in kind if t != "null")
    if kind is None and ("properties" in schema or "required" in schema):
        kind = "object"
    if kind == "object":
        props = schema.get("properties", {})
        keys = list(props) if full else list(schema.get("required", []))
        return {k: generate(spec, props.get(k, {}), full=full) for k in keys}
    if kind == "array":
        count = max(schema.get("minItems", 0), 1 if full else 0)
        return [generate(spec, schema.get("items", {}), full=full) for _ in range(count)]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uuid":
            return FIXED_UUID
        if fmt == "date-time":
            return "2026-07-20T12:00:00.000Z"
        if fmt == "uri":
            return "https://origami.chat/workspace/ws?table=t"
        return "x" * max(schema.get("minLength", 1), 1)
    if kind == "integer":
        return int(schema.get("minimum", 1 if full else 0))
    if kind == "number":
        return 0.5 if schema.get("maximum") == 1 else 1.5
    if kind == "boolean":
        return True
    return None  # an untyped schema ({}): anything goes


# -- (a) what the client sends ---------------------------------------------------------------


class Recorder:
    """An httpx MockTransport handler: records requests, answers like the API would."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.requests: list[httpx.Request] = []

    def body_for(self, method: str, spec_path: str, status: str) -> Any:
        operation = self.spec["paths"][spec_path][method]
        media = resolve(self.spec, operation["responses"][status])["content"]["application/json"]
        return generate(self.spec, media["schema"], full=True)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        method = request.method.lower()
        match = match_operation(self.spec, method, request.url.path)
        assert match is not None, f"{request.method} {request.url.path} is not in the spec"
        spec_path, _ = match
        if spec_path == "/tables/{tableId}/rows":
            return httpx.Response(200, text="Name\r\nAda\r\n", headers={"content-type": "text/csv"})
        status = "202" if method == "post" and spec_path != "/agents/{id}/cancel" else "200"
        return httpx.Response(int(status), json=self.body_for(method, spec_path, status))


def match_operation(
    spec: dict[str, Any], method: str, url_path: str
) -> tuple[str, dict[str, str]] | None:
    prefix = "/api/v2"
    assert url_path.startswith(prefix), url_path
    path = url_path[len(prefix) :]
    for spec_path, item in spec["paths"].items():
        if method not in item:
            continue
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(spec_path)) + "$"
        found = re.match(regex, path)
        if found:
            return spec_path, found.groupdict()
    return None


def parameters(spec: dict[str, Any], spec_path: str, method: str) -> list[dict[str, Any]]:
    item = spec["paths"][spec_path]
    return [
        resolve(spec, p) for p in item.get("parameters", []) + item[method].get("parameters", [])
    ]


def check_request(spec: dict[str, Any], request: httpx.Request) -> None:
    method = request.method.lower()
    match = match_operation(spec, method, request.url.path)
    assert match is not None, f"{request.method} {request.url.path} is not in the spec"
    spec_path, path_values = match
    assert (method, spec_path) in USED
    declared = parameters(spec, spec_path, method)

    def check_value(param: dict[str, Any], value: Any) -> None:
        schema = to_json_schema(param["schema"])
        if schema.get("type") == "integer":
            value = int(value)
        problems = [
            e.message
            for e in Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            ).iter_errors(value)
        ]
        assert problems == [], f"{param['in']} {param['name']}={value!r}: {problems}"

    for name, value in path_values.items():
        [param] = [p for p in declared if p["in"] == "path" and p["name"] == name]
        check_value(param, value)
    for name, value in request.url.params.multi_items():
        found = [p for p in declared if p["in"] == "query" and p["name"] == name]
        assert found, f"query parameter {name!r} is not declared for {method} {spec_path}"
        check_value(found[0], value)

    header_params = {p["name"].lower(): p for p in declared if p["in"] == "header"}
    if method == "post":
        assert "idempotency-key" in header_params
        assert "Idempotency-Key" in request.headers
    if "Idempotency-Key" in request.headers:
        check_value(header_params["idempotency-key"], request.headers["Idempotency-Key"])
    assert request.headers["Authorization"].startswith("Bearer og_live_")

    body_spec = spec["paths"][spec_path][method].get("requestBody")
    if body_spec is None:
        assert request.content == b"", f"{method} {spec_path} takes no body"
        return
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.content)
    schema_ptr = pointer(
        "paths", spec_path, method, "requestBody", "content", "application/json", "schema"
    )
    assert validation_errors(schema_ptr, body) == []


AGENT = "6f1c1f3e-2b7a-4f59-9d2e-0c7f5a1b9e21"
TABLE = "0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70"
ClientCall = Callable[[OrigamiClient], Awaitable[object]]
CALLS: list[tuple[str, ClientCall]] = [
    ("create", lambda c: c.create_agent("Find founders", idempotency_key="evt-1")),
    ("create-named", lambda c: c.create_agent("Find founders", idempotency_key="e", name="N")),
    ("create-long-name", lambda c: c.create_agent("p", idempotency_key="e", name="n" * 200)),
    ("create-max-prompt", lambda c: c.create_agent("p" * 10_000, idempotency_key="e")),
    ("create-padded", lambda c: c.create_agent("  hi \n", idempotency_key="e")),
    ("create-unicode-key", lambda c: c.create_agent("hi", idempotency_key="événement 1")),
    ("create-long-key", lambda c: c.create_agent("hi", idempotency_key="k" * 300)),
    ("send-run", lambda c: c.send_run(AGENT, "DACH", idempotency_key="Ev0A1B2:answer")),
    ("cancel", lambda c: c.cancel(AGENT, idempotency_key="stop:v2_run-abc")),
    ("get-run", lambda c: c.get_run(AGENT, "v2_run-Zk3q9TfA1bC7")),
    ("get-run-lite", lambda c: c.get_run(AGENT, "v2_run-Zk3q9TfA1bC7", include_stats=False)),
    ("get-table", lambda c: c.get_table(TABLE)),
    ("get-table-lite", lambda c: c.get_table(TABLE, include_stats=False)),
    ("rows-csv", lambda c: c.table_rows_csv(TABLE)),
]


@pytest.mark.parametrize("call", [c[1] for c in CALLS], ids=[c[0] for c in CALLS])
async def test_every_request_the_client_sends_matches_the_spec(call: ClientCall) -> None:
    spec = spec_or_skip()
    recorder = Recorder(spec)
    http = build_http_client(
        BASE_URL, "og_live_" + "a" * 40, transport=httpx.MockTransport(recorder)
    )
    client = OrigamiClient(http, retry=RetryPolicy(attempts=1))
    try:
        await call(client)
    finally:
        await client.aclose()
    [request] = recorder.requests
    check_request(spec, request)


def test_the_validators_are_not_vacuous() -> None:
    spec_or_skip()
    create = pointer(
        "paths", "/agents", "post", "requestBody", "content", "application/json", "schema"
    )
    assert validation_errors(create, {"prompt": "hi", "name": "n"}) == []
    assert validation_errors(create, {"prompt": ""}) != []
    assert validation_errors(create, {"prompt": "p" * 10_001}) != []
    assert validation_errors(create, {"prompt": "hi", "name": "n" * 81}) != []
    assert validation_errors(create, {"prompt": "hi", "focusTableIds": ["not-a-uuid"]}) != []
    assert validation_errors(create, {"name": "no prompt"}) != []
    run = pointer("components", "schemas", "Run")
    minimal = generate(spec_or_skip(), {"$ref": "#/components/schemas/Run"}, full=False)
    assert minimal["response"] is None
    assert validation_errors(run, minimal) == []
    assert validation_errors(run, {**minimal, "response": "text"}) != []
    assert validation_errors(run, {k: v for k, v in minimal.items() if k != "todo"}) != []


def test_a_missing_spec_skips_with_the_documented_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(f"{__name__}.SPEC_PATH", tmp_path / "absent.yaml")
    load_spec.cache_clear()
    try:
        with pytest.raises(pytest.skip.Exception, match=re.escape(SKIP_REASON)):
            spec_or_skip()
    finally:
        monkeypatch.undo()
        load_spec.cache_clear()


def test_the_operations_the_client_uses_exist() -> None:
    spec = spec_or_skip()
    missing = [(m, p) for m, p in USED if m not in spec["paths"].get(p, {})]
    assert missing == []


def test_run_status_enum_matches_the_models() -> None:
    spec = spec_or_skip()
    statuses = spec["components"]["schemas"]["RunStatus"]["enum"]
    assert sorted(statuses) == sorted(s.value for s in RunStatus if s is not RunStatus.UNKNOWN)


# -- (b) the spec's examples -----------------------------------------------------------------


def collect_examples(spec: dict[str, Any]) -> Iterator[tuple[str, int, str, Any]]:
    """(test id, status, JSON pointer of the schema, example) for the endpoints we use."""
    for method, spec_path in USED:
        for status, response in spec["paths"][spec_path][method]["responses"].items():
            resolved = resolve(spec, response)
            name = response["$ref"].rsplit("/", 1)[1] if "$ref" in response else "inline"
            base = ref_pointer(response, pointer("paths", spec_path, method, "responses", status))
            media = resolved.get("content", {}).get("application/json")
            if media is None:
                continue
            schema_ptr = base + pointer("content", "application/json", "schema")
            label = f"{method.upper()} {spec_path} {status} {name}"
            if "example" in media:
                yield label, int(status), schema_ptr, media["example"]
            for key, example in media.get("examples", {}).items():
                yield f"{label}:{key}", int(status), schema_ptr, example["value"]
            schema = media.get("schema", {})
            if "example" in schema:
                yield f"{label}:schema", int(status), schema_ptr, schema["example"]
            for i, sub in enumerate(schema.get("allOf", [])):
                if isinstance(sub, dict) and "example" in sub:
                    yield f"{label}:allOf{i}", int(status), schema_ptr, sub["example"]


def example_params() -> list[Any]:
    spec = load_spec()
    if spec is None:
        return no_spec_params()
    return [
        pytest.param((status, schema_ptr, example), id=label)
        for label, status, schema_ptr, example in collect_examples(spec)
    ]


def test_the_spec_still_has_the_examples_we_check() -> None:
    spec = spec_or_skip()
    labels = sorted(label for label, *_ in collect_examples(spec))
    assert labels == sorted(
        [
            "POST /agents 400 ValidationError:allOf1",
            "POST /agents 401 Unauthorized:allOf1",
            "POST /agents 402 InsufficientCredits:insufficient_credits",
            "POST /agents 402 InsufficientCredits:budget_exceeded",
            "POST /agents 403 inline:allOf1",
            "POST /agents/{id}/runs 400 ValidationError:allOf1",
            "POST /agents/{id}/runs 402 InsufficientCredits:insufficient_credits",
            "POST /agents/{id}/runs 402 InsufficientCredits:budget_exceeded",
            "POST /agents/{id}/runs 404 AgentNotFound:allOf1",
            "GET /agents/{id}/runs/{runId} 404 RunNotFound:allOf1",
            "POST /agents/{id}/cancel 404 AgentNotFound:allOf1",
            "GET /tables/{tableId} 404 inline:allOf1",
        ]
    )


@pytest.mark.parametrize("case", example_params())
def test_spec_example_parses(case: tuple[int, str, Any]) -> None:
    status, schema_ptr, example = case
    assert status >= 400, "a success example: add its model to this test"
    assert validation_errors(schema_ptr, example) == []
    body = ErrorBody.model_validate(example)
    exc = errors.error_for(status, body, None)
    assert type(exc) is EXPECTED_ERROR[example["code"]]
    assert (exc.status, exc.code, exc.body.error) == (status, example["code"], example["error"])
    if "details" in example:
        issues = example["details"]["issues"]
        assert isinstance(exc, errors.InvalidRequest)
        assert [(i.path, i.message) for i in exc.issues] == [
            (i["path"], i["message"]) for i in issues
        ]
    if isinstance(exc, errors.InsufficientCredits):
        assert exc.top_up_url == example["topUpUrl"]
        assert exc.fix_url == example["topUpUrl"]
        assert exc.body.credits_required == example["creditsRequired"]
        assert exc.body.credits_available == example["creditsAvailable"]
        assert exc.body.message == example["message"]
    if isinstance(exc, errors.BudgetExceeded):
        assert exc.blocked_by_budgets == example["blockedByBudgets"]
        assert exc.body.message == example["message"]


# -- (c) instances generated from the schemas ------------------------------------------------


def parse_created(data: Any) -> object:
    created = CreatedAgent.model_validate(data)
    assert created.run.id == data["run"]["id"]
    return created


def parse_run_holder(data: Any) -> object:
    return None if data["run"] is None else Run.model_validate(data["run"])


PARSERS: dict[tuple[str, str, str], Callable[[Any], object]] = {
    ("post", "/agents", "202"): parse_created,
    ("post", "/agents/{id}/runs", "202"): parse_run_holder,
    ("get", "/agents/{id}/runs/{runId}", "200"): Run.model_validate,
    ("post", "/agents/{id}/cancel", "200"): parse_run_holder,
    ("get", "/tables/{tableId}", "200"): Table.model_validate,
}


def generated_params() -> list[Any]:
    if load_spec() is None:
        return no_spec_params()
    cases: list[Any] = []
    for name in ("Run", "Table"):
        for full in (False, True):
            ptr = pointer("components", "schemas", name)
            label = f"{name}-{'full' if full else 'minimal'}"
            cases.append(pytest.param((ptr, full, None), id=label))
    for method, spec_path, status in PARSERS:
        ptr = pointer(
            "paths", spec_path, method, "responses", status, "content", "application/json", "schema"
        )
        for full in (False, True):
            label = f"{method.upper()} {spec_path} {status}-{'full' if full else 'minimal'}"
            cases.append(pytest.param((ptr, full, (method, spec_path, status)), id=label))
    return cases


SCHEMA_MODELS: dict[str, Callable[[Any], object]] = {
    "Run": Run.model_validate,
    "Table": Table.model_validate,
}


@pytest.mark.parametrize("case", generated_params())
def test_generated_instances_parse(case: tuple[str, bool, tuple[str, str, str] | None]) -> None:
    spec = spec_or_skip()
    ptr, full, operation = case
    schema = resolve(spec, {"$ref": "#" + ptr})
    instance = generate(spec, schema, full=full)
    assert validation_errors(ptr, instance) == [], "the generator made an invalid instance"
    if operation is None:
        parsed = SCHEMA_MODELS[ptr.rsplit("/", 1)[1]](instance)
    else:
        parsed = PARSERS[operation](instance)
    if isinstance(parsed, Run):
        assert parsed.status is RunStatus.RUNNING  # the first enum value
        assert (parsed.response is None) is (not full)
        if full:
            assert parsed.response is not None
            [table] = parsed.response.tables
            assert table.stats is not None and table.stats.qualification is not None
            assert table.qualified_leads == 1
    if isinstance(parsed, Table):
        assert parsed.id == FIXED_UUID
        assert (parsed.stats is not None) is full


CLIENT_CALLS: list[tuple[str, str, str, ClientCall]] = [
    ("post", "/agents", "202", lambda c: c.create_agent("hi", idempotency_key="k")),
    ("post", "/agents/{id}/runs", "202", lambda c: c.send_run(AGENT, "hi", idempotency_key="k")),
    ("get", "/agents/{id}/runs/{runId}", "200", lambda c: c.get_run(AGENT, "v2_run-1")),
    ("post", "/agents/{id}/cancel", "200", lambda c: c.cancel(AGENT, idempotency_key="k")),
    ("get", "/tables/{tableId}", "200", lambda c: c.get_table(TABLE)),
]


@pytest.mark.parametrize("full", [False, True], ids=["minimal", "full"])
@pytest.mark.parametrize(
    "call", CLIENT_CALLS, ids=[f"{m.upper()} {p}" for m, p, _, _ in CLIENT_CALLS]
)
async def test_client_methods_parse_generated_responses(
    call: tuple[str, str, str, ClientCall], full: bool
) -> None:
    spec = spec_or_skip()
    method, spec_path, status, invoke = call
    operation = spec["paths"][spec_path][method]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    body = generate(spec, schema, full=full)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(int(status), json=body)

    http = build_http_client(BASE_URL, "og_live_x", transport=httpx.MockTransport(answer))
    client = OrigamiClient(http, retry=RetryPolicy(attempts=1))
    try:
        result = await invoke(client)
    finally:
        await client.aclose()
    if spec_path == "/agents/{id}/cancel" and not full:
        assert result is None  # {"run": null}: the agent never had a run
    else:
        assert result is not None


def error_schema_params() -> list[Any]:
    spec = load_spec()
    if spec is None:
        return no_spec_params()
    cases: list[Any] = []
    names = ["AgentBusy", "ConcurrentLimit", "Unauthorized", "ValidationError"]
    for name in [*names, "AgentNotFound", "RunNotFound"]:
        cases.append(pytest.param((name, None), id=name))
    codes = spec["components"]["responses"]["InsufficientCredits"]["content"]["application/json"][
        "schema"
    ]["properties"]["code"]["enum"]
    for code in codes:
        cases.append(pytest.param(("InsufficientCredits", code), id=f"InsufficientCredits-{code}"))
    return cases


ERROR_STATUS = {
    "AgentBusy": 409,
    "ConcurrentLimit": 429,
    "Unauthorized": 401,
    "ValidationError": 400,
    "AgentNotFound": 404,
    "RunNotFound": 404,
    "InsufficientCredits": 402,
}


@pytest.mark.parametrize("case", error_schema_params())
def test_generated_error_bodies_raise_their_class(case: tuple[str, str | None]) -> None:
    spec = spec_or_skip()
    name, code = case
    response = spec["components"]["responses"][name]
    media = response["content"]["application/json"]
    ptr = pointer("components", "responses", name, "content", "application/json", "schema")
    body = generate(spec, media["schema"], full=True)
    if code is not None:
        body["code"] = code
    elif body.get("code") == "x":  # an open string in the envelope: use the documented one
        body["code"] = {
            "Unauthorized": "UNAUTHORIZED",
            "ValidationError": "VALIDATION_ERROR",
            "AgentNotFound": "AGENT_NOT_FOUND",
            "RunNotFound": "RUN_NOT_FOUND",
        }[name]
    assert validation_errors(ptr, body) == []
    header = response.get("headers", {}).get("Retry-After")
    retry_after = float(generate(spec, header["schema"], full=True)) if header else None
    exc = errors.error_for(ERROR_STATUS[name], ErrorBody.model_validate(body), retry_after)
    assert type(exc) is EXPECTED_ERROR[body["code"]]
    if isinstance(exc, errors.AgentBusy):
        assert exc.current_run is not None
        assert (exc.current_run.id, exc.current_run.started_at) == (
            body["currentRun"]["id"],
            body["currentRun"]["startedAt"],
        )
    if isinstance(exc, errors.ConcurrencyLimited):
        assert exc.retry_after == 1.0
        assert exc.limit == body["limit"]
        assert [(s.agent_id, s.name) for s in exc.active_sessions] == [
            (s["agentId"], s["name"]) for s in body["activeSessions"]
        ]
        assert exc.body.can_upgrade is True
    if isinstance(exc, errors.BudgetExceeded):
        assert exc.blocked_by_budgets == body["blockedByBudgets"]
    if isinstance(exc, errors.AccountBlocked):
        assert exc.reason == body["reason"]
    if isinstance(exc, errors.InsufficientCredits):
        assert exc.top_up_url == body["topUpUrl"]
    if isinstance(exc, errors.OrigamiAPIError) and "handoff" in body:
        assert exc.handoff_url == body["handoff"]["url"]
