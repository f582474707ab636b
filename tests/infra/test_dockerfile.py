"""The Dockerfile, read statically (no Docker engine here): multi-stage on one pinned slim Python 3.11, dependencies
only from poetry.lock, a non-root runtime with a healthcheck, and a build context without secrets or local state."""

from __future__ import annotations

import re

from tests.infra.infra_files import ROOT, dockerfile_instructions, dockerfile_stages, services

SLIM_PYTHON_311 = re.compile(r"^python:3\.11\.\d+-slim(-[a-z]+)?$")


def build_args() -> dict[str, str]:
    return dict(
        arguments.split("=", 1)
        for instruction, arguments in dockerfile_instructions()
        if instruction == "ARG" and "=" in arguments
    )


def resolve(text: str) -> str:
    args = build_args()
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda match: args[match[1] or match[2]], text)


def test_dockerfile_builds_in_stages_from_one_pinned_slim_python_311_when_read() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    bases = {resolve(stage[0][1].split()[0]) for stage in stages}
    assert len(bases) == 1 and SLIM_PYTHON_311.match(bases.pop())


def test_dockerfile_installs_runtime_dependencies_from_the_lock_only_when_built() -> None:
    build = " ".join(arguments for _, arguments in dockerfile_stages()[0])
    assert "poetry_shim.py check --lock" in build
    assert re.search(r"poetry_shim\.py install --only main --no-root\b", build)
    assert not re.search(r"poetry_shim\.py (lock|update|add)\b|pip install (?!\"?poetry==)", build)
    pinned = build_args()["POETRY_VERSION"]
    assert pinned in (ROOT / "scripts" / "install.sh").read_text(encoding="utf-8"), "use the Poetry CI uses"


def test_dockerfile_runtime_is_non_root_with_a_healthcheck_and_no_build_tools_when_run() -> None:
    runtime = dockerfile_stages()[-1]
    instructions = [instruction for instruction, _ in runtime]
    users = [arguments for instruction, arguments in runtime if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert instructions.index("USER") > max(i for i, name in enumerate(instructions) if name in ("RUN", "COPY"))
    healthcheck = [arguments for instruction, arguments in runtime if instruction == "HEALTHCHECK"]
    assert healthcheck and "/app/ops/healthcheck.py" in healthcheck[0]
    runtime_text = " ".join(arguments for _, arguments in runtime)
    assert "poetry" not in runtime_text.replace("/app/.venv", "")


def test_dockerfile_copies_only_existing_sources_and_no_secrets_when_built() -> None:
    for instruction, arguments in dockerfile_instructions():
        if instruction == "COPY" and "--from=" not in arguments:
            sources = [word for word in arguments.split()[:-1] if not word.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), source
                assert ".env" not in source
        if instruction in ("ENV", "ARG"):
            assert not re.search(r"(PASS|SECRET|TOKEN|_KEY)\w*=", arguments), arguments


def test_dockerfile_ships_the_ops_scripts_compose_runs_when_built() -> None:
    copied = " ".join(arguments for instruction, arguments in dockerfile_instructions() if instruction == "COPY")
    referenced = set()
    for service in services().values():
        for part in (service.get("entrypoint") or []) + (service.get("command") or []):
            referenced.update(re.findall(r"/app/ops/(\w+\.py)", part))
        probe = " ".join((service.get("healthcheck") or {}).get("test", []))
        referenced.update(re.findall(r"/app/ops/(\w+\.py)", probe))
    assert referenced == {"generate_secrets.py", "create_bucket.py", "healthcheck.py", "tls_init.py", "mongo_users.py"}
    for script in referenced:
        assert re.search(rf"infra/\w+/{script}\b[^\n]*\./ops/", copied), script


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context_when_building() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()}
    assert {".env", ".git", ".venv", ".tools", "tests"} <= ignored
