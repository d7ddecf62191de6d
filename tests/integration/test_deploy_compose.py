"""The docker-compose deployment, checked without a Docker engine.

The compose file is parsed (and validated by Debian's `docker-compose config` where that
is installed); every file it mounts exists; every service container is given exactly
the configuration the code reads, on the ports of CONTRACTS §1; Prometheus scrapes every
service; the broker definitions grant the arbitration institute nothing but its two
queues and exchanges.
"""

import importlib.util
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from services.common.config import SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DEFINITIONS = ROOT / "deploy" / "rabbitmq" / "definitions.json"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"

# CONTRACTS §1, written out here: the test states the contract, the code must follow.
CONTRACT_PORTS = {
    "intake": 8001,
    "mediation": 8002,
    "arbitration_link": 8003,
    "metrics": 8004,
    "console": 8005,
    "documents": 8006,
}
# The stores whose events the metrics service projects (and reads, for its lag).
PROJECTED_STORES = ("intake", "mediation", "arbitration_link")
# The containers that run once and exit; every other container runs and is health-checked.
ONE_SHOTS = {"setup", "rabbitmq-definitions"}
DATA_DIRECTORIES = {
    "rabbitmq": "/var/lib/rabbitmq",
    "postgres": "/var/lib/postgresql/data",
    "prometheus": "/prometheus",
    "grafana": "/var/lib/grafana",
}
# Broker resources by the names the code gives them (services/common/messaging.py, relay.py)
# and CONTRACTS §4.
SERVICE_RESOURCES = [
    "intake.events",
    "mediation.events",
    "arbitration_link.events",
    "metrics.events",
    "tiaojie.dead-letter",
    "evt-intake-CaseAccepted--mediation.on_case_accepted",
    "evt-intake-CaseAccepted--mediation.on_case_accepted.dead",
    "arbitration.outbound",
    "arbitration.referrals",
    "arbitration.referrals.dead",
    "arbitration.replies",
    "arbitration.replies.link",
    "arbitration.replies.link.dead",
]

_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def read_env_file(path):
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(value, env):
    """Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}`, for the checks below."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match):
        name, op, arg = match.group("name", "op", "arg")
        if env.get(name):
            return env[name]
        if op and op.endswith("-"):
            return arg
        raise AssertionError(f"{name} is needed but .env.example does not set it ({arg})")

    return _VARIABLE.sub(substitute, value)


@pytest.fixture(scope="module")
def raw_compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def compose(raw_compose):
    """The compose file as it is with the values of .env.example."""
    return interpolate(raw_compose, read_env_file(ENV_EXAMPLE))


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: str(v) for k, v in env.items()}


def names_read_by(paths):
    """The environment variables the code reads: `env.get("X")`, `environ["X"]`, and
    `f"{service.upper()}_X"` for each service."""
    names = set()
    for path in paths:
        text = path.read_text()
        names.update(re.findall(r"""(?:\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']""", text))
        names.update(re.findall(r"""environ\[\s*["']([A-Z][A-Z0-9_]+)["']""", text))
        for suffix in re.findall(r"""\{\w+\.upper\(\)\}(_[A-Z0-9_]+)""", text):
            names.update(f"{service.upper()}{suffix}" for service in SERVICES)
    return names


def renderer():
    """deploy/rabbitmq/render_definitions.py, which is no package."""
    spec = importlib.util.spec_from_file_location("render_definitions", ROOT / "deploy/rabbitmq/render_definitions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bind_mounts(service):
    for volume in service.get("volumes") or []:
        source, _, rest = volume.partition(":")
        if source.startswith((".", "/")):
            yield source, rest.split(":")[0]


# -- the file as a whole ------------------------------------------------------------------


def test_docker_compose_accepts_the_file_with_the_example_secrets_and_refuses_it_without(tmp_path):
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("Debian's docker-compose is not installed (.ci/run installs it)")
    clean = {"PATH": "/usr/bin:/bin"}
    accepted = subprocess.run(
        [binary, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert accepted.returncode == 0, accepted.stderr
    no_secrets = tmp_path / "empty.env"
    no_secrets.write_text("")
    refused = subprocess.run(
        [binary, "--env-file", str(no_secrets), "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "in .env" in refused.stderr


def test_the_whole_system_is_in_the_file(services):
    assert set(SERVICES) | {"rabbitmq", "postgres", "prometheus", "grafana", "setup"} <= set(services)


def test_every_mounted_file_exists(services):
    missing = [
        f"{name}: {source}"
        for name, service in services.items()
        for source, _ in bind_mounts(service)
        if not (ROOT / source).exists()
    ]
    assert not missing, f"mounted but not in the repository: {missing}"


def test_the_broker_and_postgres_load_their_companions(services):
    rabbitmq_mounts = dict((target, source) for source, target in bind_mounts(services["rabbitmq"]))
    assert rabbitmq_mounts["/etc/rabbitmq/enabled_plugins"] == "./deploy/rabbitmq/enabled_plugins"
    plugins = (ROOT / "deploy/rabbitmq/enabled_plugins").read_text()
    assert "rabbitmq_management" in plugins and "rabbitmq_prometheus" in plugins
    conf_source = rabbitmq_mounts["/etc/rabbitmq/conf.d/20-tiaojie.conf"]
    conf = dict(
        line.split(" = ", 1)
        for line in (ROOT / conf_source).read_text().splitlines()
        if " = " in line and not line.startswith("#")
    )
    # The broker loads what the definitions container renders, from the volume they share.
    rendered_dir = next(
        v.split(":")[1] for v in services["rabbitmq"]["volumes"] if v.startswith("rabbitmq-definitions:")
    )
    assert conf["load_definitions"] == f"{rendered_dir}/definitions.json"
    assert services["rabbitmq-definitions"]["command"][-1] == "/var/lib/tiaojie/broker/definitions.json"
    assert "rabbitmq-definitions:/var/lib/tiaojie/broker" in services["rabbitmq-definitions"]["volumes"]
    postgres_mounts = dict((target, source) for source, target in bind_mounts(services["postgres"]))
    init_dir = ROOT / postgres_mounts["/docker-entrypoint-initdb.d"]
    assert any(p.suffix == ".sh" for p in init_dir.iterdir())


# -- containers: health, order, restarts, data ------------------------------------------


def test_the_broker_gets_file_handles_for_its_quorum_queues(services):
    nofile = services["rabbitmq"]["ulimits"]["nofile"]
    assert nofile["soft"] >= 50000 and nofile["hard"] >= nofile["soft"]


def test_every_long_running_container_is_health_checked_and_restarted(services):
    for name, service in services.items():
        if name in ONE_SHOTS:
            assert service["restart"] == "no", name
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"
        assert service.get("restart") in ("unless-stopped", "always"), name


def test_containers_wait_for_health_or_completion_of_what_they_need(services):
    for name in SERVICES:
        depends = services[name]["depends_on"]
        assert depends["setup"] == {"condition": "service_completed_successfully"}, name
        assert depends["postgres"] == {"condition": "service_healthy"}, name
        assert depends["rabbitmq"] == {"condition": "service_healthy"}, name
    for name, service in services.items():
        for dependency, how in (service.get("depends_on") or {}).items():
            expected = "service_completed_successfully" if dependency in ONE_SHOTS else "service_healthy"
            assert how == {"condition": expected}, f"{name} → {dependency}"


def test_data_lives_in_named_volumes(compose, services):
    for name, directory in DATA_DIRECTORIES.items():
        named = [v.split(":")[0] for v in services[name]["volumes"] if v.split(":")[1] == directory]
        assert named and named[0] in compose["volumes"], f"{name} keeps {directory} in no named volume"


def test_services_health_checks_ask_ready_on_their_own_port_without_curl(services):
    for name, port in CONTRACT_PORTS.items():
        test = services[name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"], name
        assert f"http://127.0.0.1:{port}/ready" in test[3], name


# -- the four services: one image, the command, ports, configuration ---------------------


def test_the_four_services_run_from_one_image(raw_compose, services):
    images = {services[name]["image"] for name in [*SERVICES, *ONE_SHOTS]}
    assert len(images) == 1
    assert all(services[name]["build"]["dockerfile"] == "deploy/Dockerfile" for name in SERVICES)
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M), "the image must not run as root"
    assert "pyproject.toml" in dockerfile
    # The image installs exactly these: every dependency is pinned.
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert dependencies and all(re.fullmatch(r"[A-Za-z0-9_.\[\]-]+==[\w.]+", d) for d in dependencies), dependencies


def test_each_service_is_served_on_its_contract_port(services):
    for name, port in CONTRACT_PORTS.items():
        service = services[name]
        assert service["command"] == ["tiaojie", "serve", name]
        assert environment(service)[f"{name.upper()}_HTTP_PORT"] == str(port)
        assert service["ports"] == [f"{port}:{port}"], name
    setup = services["setup"]
    assert setup["command"][:2] == ["sh", "-c"] and setup["command"][2].startswith("tiaojie setup && ")
    granted_by = setup["command"][2].split("&& python ")[1]
    mounted = {target: source for source, target in bind_mounts(setup)}
    script = next(
        ROOT / mounted[d] / Path(granted_by).relative_to(d) for d in mounted if granted_by.startswith(d + "/")
    )
    assert script.exists()


PERSONAL_DATA_READERS = ("intake", "arbitration_link", "documents")  # docs/PRIVACY.md
READS_EVENTS_OF = {"metrics": PROJECTED_STORES, "intake": ("mediation",)}  # deploy/postgres/grant_projection_reads.py


def test_each_service_reaches_only_its_own_database_as_its_own_role(services):
    init_script = next((ROOT / "deploy/postgres/initdb").glob("*.sh")).read_text()
    for name in SERVICES:
        assert name in init_script
        env = environment(services[name])
        urls = {k: v for k, v in env.items() if k.endswith("DATABASE_URL")}
        # The metrics service reads the other stores, intake's retention timer mediation's
        # (as their own role, granted SELECT on those events by the setup container); every
        # other service sees its own only.
        expected = [f"{s.upper()}_DATABASE_URL" for s in (name, *READS_EVENTS_OF.get(name, ()))]
        # Those that read personal data in clear also reach the key store, as its own role.
        if name in PERSONAL_DATA_READERS:
            expected.append("KEYS_DATABASE_URL")
        assert sorted(urls) == sorted(expected), f"{name} sees {sorted(urls)}"
        for key, url in urls.items():
            match = re.fullmatch(r"postgresql://(\w+):([^@]+)@postgres:5432/(\w+)", url)
            database = key.removesuffix("_DATABASE_URL").lower()
            role = "keys" if key == "KEYS_DATABASE_URL" else name
            assert match and match.group(1) == role and match.group(3) == f"tiaojie_{database}", key
            assert match.group(2) == read_env_file(ENV_EXAMPLE)[f"{role.upper()}_DB_PASSWORD"], key
        has_master_key = env.get("TIAOJIE_MASTER_KEY_FILE") == "/var/lib/tiaojie-master-key/master.key"
        assert has_master_key == (name in PERSONAL_DATA_READERS), name
        assert env["AMQP_URI"].startswith("amqp://tiaojie:") and env["AMQP_URI"].endswith("@rabbitmq:5672/")
        assert env["TIAOJIE_TIMEZONE"] == "Asia/Shanghai"
    setup_env = environment(services["setup"])
    for name in SERVICES:
        assert setup_env[f"{name.upper()}_DATABASE_URL"] == environment(services[name])[f"{name.upper()}_DATABASE_URL"]


def test_every_variable_given_to_our_containers_is_one_the_code_reads(services):
    read_by_services = names_read_by(sorted((ROOT / "services").rglob("*.py")))
    for name in [*SERVICES, "setup"]:
        unknown = set(environment(services[name])) - read_by_services
        assert not unknown, f"{name} is given variables nothing reads: {sorted(unknown)}"
    assert set(environment(services["rabbitmq-definitions"])) == set(renderer().PASSWORD_VARIABLES.values())
    assert {"AMQP_URI", "TIAOJIE_TIMEZONE", "INTAKE_DATABASE_URL", "INTAKE_HTTP_PORT"} <= read_by_services


def test_the_indicator_settings_default_to_what_the_metrics_service_defaults_to(services):
    from services.metrics.settings import settings_from_env

    given = environment(services["metrics"])
    assert settings_from_env(given) == settings_from_env({"TIAOJIE_TIMEZONE": given["TIAOJIE_TIMEZONE"]})


def test_secrets_come_from_dot_env_and_none_is_committed(raw_compose):
    for name, service in raw_compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or "DATABASE_URL" in key or key == "AMQP_URI":
                assert "${" in str(value), f"{name}.{key} has a literal secret"
    for key, value in read_env_file(ENV_EXAMPLE).items():
        if "PASSWORD" in key:
            assert value.startswith("change-me"), f".env.example holds a real-looking {key}"
    assert ".env" in (ROOT / ".gitignore").read_text().split()


# -- Prometheus ---------------------------------------------------------------------------


def test_prometheus_scrapes_every_service_and_the_broker(services):
    assert PROMETHEUS_CONFIG.exists(), "deploy/prometheus/prometheus.yml is missing"
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    assert ("./deploy/prometheus", "/etc/prometheus") in set(bind_mounts(services["prometheus"]))
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets = set()
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            targets.update(static.get("targets", []))
        for dns in job.get("dns_sd_configs", []):
            targets.update(f"{host}:{dns.get('port')}" for host in dns.get("names", []))
    for name, port in CONTRACT_PORTS.items():
        assert f"{name}:{port}" in targets, f"Prometheus does not scrape {name}"
    assert "rabbitmq:15692" in targets, "Prometheus does not scrape the broker"
    for target in targets:
        host = target.split(":")[0]
        if not host.startswith(("tasks.", "localhost", "127.")):
            assert host in services, f"Prometheus scrapes {target}, which no container answers"
    for pattern in config.get("rule_files", []):
        assert list((ROOT / "deploy/prometheus").glob(pattern)), f"rule file {pattern} matches nothing"


def test_grafana_finds_its_dashboards_and_prometheus_where_compose_puts_them(services):
    mounts = {target: ROOT / source for source, target in bind_mounts(services["grafana"])}
    provisioning = mounts["/etc/grafana/provisioning"]
    for provider_file in (provisioning / "dashboards").glob("*.y*ml"):
        for provider in yaml.safe_load(provider_file.read_text())["providers"]:
            path = provider["options"]["path"]
            assert path in mounts, f"dashboards provisioned from {path}, which compose does not mount"
            assert list(mounts[path].glob("*.json")), f"no dashboard in {mounts[path]}"
    for source_file in (provisioning / "datasources").glob("*.y*ml"):
        for source in yaml.safe_load(source_file.read_text())["datasources"]:
            host, port = re.fullmatch(r"https?://([\w-]+):(\d+)/?", source["url"]).groups()
            assert host in services and f"{port}:{port}" in str(services[host].get("ports")), source["url"]


def test_grafana_speaks_chinese_in_its_own_menus_and_messages(services):
    assert environment(services["grafana"])["GF_USERS_DEFAULT_LANGUAGE"] == "zh-Hans"


# -- the broker's definitions ------------------------------------------------------------


@pytest.fixture(scope="module")
def definitions():
    return json.loads(DEFINITIONS.read_text())


def permissions_of(definitions, user):
    [granted] = [p for p in definitions["permissions"] if p["user"] == user]
    return granted


def allowed(pattern, names):
    return {name for name in names if re.search(pattern, name)}


def test_definitions_have_no_guest_and_no_committed_password(definitions):
    users = {u["name"]: u for u in definitions["users"]}
    assert "guest" not in users
    assert {"tiaojie", "arbitration"} <= set(users)
    assert all(u["password_hash"] == "" for u in users.values()), "a password hash is committed"
    assert {v["name"] for v in definitions["vhosts"]} == {"/"}
    for kind in ("permissions", "policies", "exchanges", "queues", "bindings"):
        assert all(item["vhost"] == "/" for item in definitions[kind]), kind


def test_the_arbitration_institute_may_only_read_referrals_and_write_replies(definitions):
    granted = permissions_of(definitions, "arbitration")
    assert granted["configure"] == "^$"
    assert granted["write"] == "^arbitration\\.replies$"
    assert granted["read"] == "^arbitration\\.referrals$"
    assert allowed(granted["configure"], SERVICE_RESOURCES) == set()
    assert allowed(granted["write"], SERVICE_RESOURCES) == {"arbitration.replies"}
    assert allowed(granted["read"], SERVICE_RESOURCES) == {"arbitration.referrals"}
    assert [u for u in definitions["users"] if u["name"] == "arbitration"][0]["tags"] == []
    assert not [t for t in definitions.get("topic_permissions", []) if t["user"] == "arbitration"]


def test_the_services_user_reaches_every_resource_of_the_services_and_is_no_administrator(definitions):
    granted = permissions_of(definitions, "tiaojie")
    for kind in ("configure", "write", "read"):
        assert allowed(granted[kind], SERVICE_RESOURCES) == set(SERVICE_RESOURCES), kind
        assert granted[kind] != ".*"
        assert not re.search(granted[kind], "some.other.application"), kind
    assert [u for u in definitions["users"] if u["name"] == "tiaojie"][0]["tags"] == []


def test_dead_letter_policies_cover_the_consumer_queues_and_spare_the_dead_letter_queues(definitions):
    policies = definitions["policies"]
    assert policies and all(p["definition"]["dead-letter-exchange"] == "tiaojie.dead-letter" for p in policies)
    consumers = [r for r in SERVICE_RESOURCES if r.startswith("evt-") and not r.endswith(".dead")]
    consumers += ["arbitration.referrals", "arbitration.replies.link"]
    for queue in consumers:
        assert [p for p in policies if re.search(p["pattern"], queue)], f"no dead-letter policy for {queue}"
    for queue in [r for r in SERVICE_RESOURCES if r.endswith(".dead")]:
        assert not [p for p in policies if re.search(p["pattern"], queue)], f"{queue} would dead-letter itself"


def test_every_broker_user_gets_its_password_from_the_environment_and_only_from_there(definitions):
    render = renderer().render
    env = {variable: f"secret-{variable}" for variable in renderer().PASSWORD_VARIABLES.values()}
    rendered = render(definitions, env)
    assert {u["name"] for u in rendered["users"]} == {u["name"] for u in definitions["users"]}
    assert all(u["password_hash"] for u in rendered["users"])
    assert {k: v for k, v in rendered.items() if k != "users"} == {k: v for k, v in definitions.items() if k != "users"}
    for variable in env:
        with pytest.raises(ValueError, match=variable):
            render(definitions, {k: v for k, v in env.items() if k != variable})
