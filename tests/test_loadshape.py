"""The load shapes a config asks for: their labels, the matrix they make,
named shapes, and the errors that name the key."""

import re

import pytest

from scripts.core.loadshape import (LoadShapeError, Shape, check_messages, label, main_label,
                                    seconds, shapes)

BASE = {"write_interval": "1100us", "phases": "aligned", "burst": 1, "load_defs": {}}


def test_defaults_are_labelled_by_the_interval_alone():
    assert label(Shape("1100us")) == "1100us"
    assert label(Shape("550us", "random", 4)) == "550us-random-burst4"
    assert label(Shape("2ms", burst=8)) == "2ms-burst8"


def test_every_combination_in_the_config_order():
    config = {**BASE, "write_interval": ["2200us", "550us"], "phases": ["aligned", "random"],
              "burst": [1, 4]}
    got = shapes(config)
    assert list(got) == ["2200us", "2200us-burst4", "2200us-random", "2200us-random-burst4",
                         "550us", "550us-burst4", "550us-random", "550us-random-burst4"]
    assert main_label(got) == "2200us"
    assert got["550us-random-burst4"].loadgen_options() == [
        "--write-interval", "550us", "--phases", "random", "--burst", "4"]


def test_a_named_shape_keeps_its_own_settings():
    config = {**BASE, "write_interval": ["tcp", "1ms"], "phases": ["random"],
              "load_defs": {"tcp": {"write_interval": "1660us", "description": "like tcp"}}}
    got = shapes(config)
    assert list(got) == ["tcp", "1ms-random"]
    assert got["tcp"] == Shape("1660us", "aligned", 1, "like tcp")
    assert got["tcp"].interval_s == pytest.approx(1.66e-3)


def test_a_named_shape_may_write_early_with_or_without_nagle():
    config = {**BASE, "write_interval": ["kali"], "reply": [False, True],
              "load_defs": {"kali": {"write_interval": "1370us", "phases": "random",
                                     "write_before_greeting": True, "nodelay": True}}}
    with pytest.raises(LoadShapeError, match="config key load_defs: 'kali' writes before the "
                                             "greeting, which cannot be timed with reply"):
        shapes(config)
    got = shapes({**config, "reply": False})["kali"]
    assert got.loadgen_options()[-2:] == ["--nodelay", "--write-before-greeting"]
    assert label(Shape("1ms", write_early=True)) == "1ms-early"
    assert label(Shape("1ms", "random", nodelay=True)) == "1ms-random-nodelay"


def test_an_unknown_name_is_refused_naming_the_key():
    with pytest.raises(LoadShapeError, match="config key write_interval: 'fast' is neither a "
                                             r"duration \(e.g. 1100us\) nor a load_defs entry"):
        shapes({**BASE, "write_interval": ["1ms", "fast"]})


@pytest.mark.parametrize("text, value", [("1100us", 1.1e-3), ("2.5ms", 2.5e-3), ("1s", 1.0)])
def test_durations(text, value):
    assert seconds(text) == pytest.approx(value)


WINDOW = {"top_frames": 10, "top_delay": 1.0, "message": "message\\n", "rate": "1Mbps",
          "rate_total": None}


@pytest.mark.parametrize("load, says", [
    ({"rate_total": "1bps"}, "config key rate_total: 1bps over 3 clients (0.333333bps each) is "
                             "less than one message per client in the 10 s window"),
    ({"rate": "6bps"}, "config key rate: 6bps is less than one message per client"),
    ({"rate": "0.05msg/s"}, "config key rate: 0.05msg/s is less than one message"),
])
def test_a_load_of_less_than_one_message_per_window_is_refused(load, says):
    with pytest.raises(LoadShapeError, match=re.escape(says)):
        check_messages({**WINDOW, **load}, [1, 3])


@pytest.mark.parametrize("load", [{"rate": "7bps"}, {"rate": "0.1msg/s"},
                                  {"rate_total": "24bps"}])
def test_one_message_per_client_per_window_is_enough(load):
    check_messages({**WINDOW, **load}, [1, 3])  # "message\n" is 8 bytes: 64 bits
