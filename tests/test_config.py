"""Config values as a user types them on the command line: read as YAML
where the schema wants something other than text, and every refusal names
its key and an accepted spelling."""

import pytest
import yaml

from conftest import REPO
from scripts.core import configdoc
from scripts.core.config import ConfigError, check, check_command, typed

SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
CONFIG = yaml.safe_load((REPO / "config/config.yaml").read_text())


def given(**values) -> dict:
    """The default config with values as Snakemake hands --config over."""
    return typed({**CONFIG, **values}, SCHEMA)


@pytest.mark.parametrize("value, read", [("true", True), ("false", False), ("yes", True),
                                         (True, True)])
def test_booleans_are_read_as_yaml(value, read):
    config = given(allow_shared_cpus=value, exclude_flagged=value)
    assert config["allow_shared_cpus"] is read and config["exclude_flagged"] is read
    check(config, SCHEMA)


def test_lists_numbers_and_null_are_read_as_yaml_and_text_stays_text():
    config = given(vcpus=["1", "2"], clients=["1", "8"], network="null",
                   message="a: b", rate="1Mbps", reference_server="goroutines",
                   merge_from=["vm1/results"])
    assert config["vcpus"] == [1, 2] and config["clients"] == [1, 8]
    assert config["network"] is None
    assert config["message"] == "a: b" and config["rate"] == "1Mbps"
    assert config["merge_from"] == ["vm1/results"]
    check(config, SCHEMA)


@pytest.mark.parametrize("key, value, says", [
    ("allow_shared_cpus", 1, "config key allow_shared_cpus: 1 is not of type 'boolean' "
                             "(write true or false)"),
    ("allow_shared_cpus", "maybe", "config key allow_shared_cpus: 'maybe' is not of type "
                                   "'boolean' (write true or false)"),
    ("network", "fast", "config key network: 'fast' is not valid under any of the given "
                        "schemas (write one of loopback, netns, veth, vethsplit, remote, a list of "
                        "them, or null)"),
    ("repetitions", "many", "config key repetitions: 'many' is not of type 'integer' "
                            "(write a whole number, e.g. 4)"),
    ("clients", ["1", "x"], "config key clients.1: 'x' is not of type 'integer' "
                            "(write a whole number, e.g. 4)"),
    ("clients", [], "config key clients: [] should be non-empty (write a list, e.g. [1,8])"),
    ("rate", "0.0Mbps", "config key rate: '0.0Mbps' is not a load per client above zero, "
                        "e.g. 1Mbps, 250kbps, 100msg/s"),
    ("servers", "a;rm", "config key servers: 'a;rm' is not a server name: a letter or "
                        "digit, then letters, digits, _ . and - only"),
    # A name is a folder of results/raw: ".." would put its files elsewhere.
    ("servers", "..", "config key servers: '..' is not a server name: a letter or digit, "
                      "then letters, digits, _ . and - only"),
    ("servers", [".hidden"], "config key servers.0: '.hidden' is not a server name: a letter "
                             "or digit, then letters, digits, _ . and - only"),
    # A text that fits no form of a value: each form, not "write a list".
    ("write_interval", "0us", "config key write_interval: '0us' is not a duration above zero, "
                              "e.g. 1100us, 1ms, nor a load_defs name: a letter, then "
                              "letters, digits, _ and -"),
])
def test_a_refused_value_names_its_key_and_how_to_write_it(key, value, says):
    with pytest.raises(ConfigError) as err:
        check(given(**{key: value}), SCHEMA)
    assert str(err.value) == says


@pytest.mark.parametrize("rate, zero", [("0.5Mbps", "0Mbps"), ("10Mbps", "0.0Mbps"),
                                        ("100msg/s", "0msg/s"), ("250kbps", "0kbps")])
def test_loads_above_zero_pass_and_zero_in_the_same_unit_does_not(rate, zero):
    config = given(rate=rate)
    check(config, SCHEMA)
    assert config["rate"] == rate
    with pytest.raises(ConfigError, match=f"config key rate: '{zero}' is not a load"):
        check(given(rate=zero), SCHEMA)


@pytest.mark.parametrize("command, says", [
    ("", "empty (give the command that starts the server)"),
    ("  ", "empty (give the command that starts the server)"),
    ("python server.py --name 'papaya", "\"python server.py --name 'papaya\" is not a command "
                                        "line (No closing quotation)"),
    ("{bin}/server --port }", "'{bin}/server --port }' is not a command line (Single '}' "
                              "encountered in format string)"),
    ("{bin}/server --dir {home} {user}", "unknown placeholder {home}, {user} (the only one is "
                                         "{bin}, the folder of the built programs)"),
])
def test_a_server_command_that_cannot_run_is_refused_before_any_job(command, says):
    with pytest.raises(ConfigError) as err:
        check_command("mine", command)
    assert str(err.value) == f"config key server_defs.mine.command: {says}"


@pytest.mark.parametrize("command", [c["command"] for c in CONFIG["server_defs"].values()])
def test_every_declared_server_command_passes(command):
    check_command("declared", command)


def test_config_readme_lists_every_key_as_the_schema_and_defaults_say():
    """config/README.md's table is made from the schema and config.yaml; a
    key added to either without the page is caught here."""
    page = configdoc.PAGE.read_text()
    schema, defaults = (yaml.safe_load(p.read_text())
                        for p in (configdoc.SCHEMA, configdoc.DEFAULTS))
    assert configdoc.page_with_table(page, schema, defaults) == page
    assert all(f"| `{key}` |" in page for key in schema["properties"])
    schema["properties"]["new_key"] = {"description": "a key without its row"}
    assert configdoc.main(["--check"]) == 0
    assert configdoc.page_with_table(page, schema, defaults) != page
