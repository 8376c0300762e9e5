"""Config validation: every problem at once, each naming its key; nothing silently ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import job_config

from sheetsync.app import config_file
from sheetsync.core import config as config_module
from sheetsync.core.config import ConfigError, funnel, parse_duration


def problems(data: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_module.parse(data)
    return caught.value.problems


@pytest.mark.parametrize(
    ("text", "seconds"), [("60s", 60), ("5m", 300), ("1h", 3600), ("1500ms", 1.5), (30, 30)]
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_good_config_parses() -> None:
    config = config_module.parse({"jobs": [job_config()]})
    job = config.jobs[0]
    assert job.spreadsheet == "sheet1"  # the id, taken from the URL
    assert job.poll_interval == 60
    assert [(s.label, s.event, s.value, s.value_column) for s in funnel(job)] == [
        ("New", "Lead", None, None),
        ("Qualified", "QualifiedLead", 100, None),
        ("Meeting Booked", "Schedule", None, None),
        ("Won", "Purchase", None, "Deal Value"),
    ]


def test_every_problem_is_reported_at_once() -> None:
    job = job_config(
        dataset_id="pixel-1",
        currency="dollars",
        default_country="USA",
        initial_sync="some",
        stages={"New": "Lead", "Won": {"event": "Purchase", "value": "lots"}},
    )
    found = problems({"jobs": [job], "google": {"anonymous": True}, "extra": 1})
    assert "jobs[0].dataset_id: must be the dataset (pixel) id, digits only; got 'pixel-1'" in found
    assert "jobs[0].currency: must be a 3-letter ISO 4217 code such as USD or EUR" in found
    assert "jobs[0].default_country: must be a 2-letter country code such as US or GB" in found
    assert "jobs[0].stages.Won.value: not a number" in found
    assert any(p.startswith("jobs[0].initial_sync:") for p in found)
    assert "extra: unknown key (check its spelling)" in found
    assert (
        "google: anonymous: true is only allowed with a loopback api_base_url (an emulator)"
        in found
    )


def test_stage_mode_must_be_one_of_two() -> None:
    job = job_config(stage_columns={"Won At": "Purchase"})
    assert any(
        "set either columns.stage with stages, or stage_columns" in p
        for p in problems({"jobs": [job]})
    )


def test_duplicate_job_names() -> None:
    found = problems({"jobs": [job_config(), job_config()]})
    assert found == ["job names must be unique; repeated: sales"]


def test_yaml_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("jobs:\n  - name: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        config_file.load(path)
    assert "not valid YAML at line" in caught.value.problems[0]


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("state_path: s.db\ngoogle: {credentials_file: key.json}\njobs: []\n")
    with pytest.raises(ConfigError):
        config_file.load(path)  # jobs must not be empty
    path.write_text(
        "state_path: s.db\ngoogle: {credentials_file: key.json}\njobs:\n"
        "  - {name: a, spreadsheet: x, dataset_id: '1', columns: {stage: S}, stages: {New: Lead}}\n"
    )
    config = config_file.load(path)
    assert config.state_path == tmp_path / "s.db"
    assert config.google.credentials_file == tmp_path / "key.json"


def test_example_config_is_valid() -> None:
    example = Path(__file__).parent.parent / "config.example.yaml"
    config = config_file.load(example)
    assert config.jobs[0].name == "sales"
    # A value applies to the stage it is configured for: a lead that arrives already Won must
    # not send the deal value with its Lead event; and under systemd the state goes to
    # StateDirectory=, so the example leaves state_path out.
    job = config.jobs[0]
    lead = funnel(job)[0]
    assert (job.columns.value, lead.value, lead.value_column) == (None, None, None)
    assert "\n# state_path:" in example.read_text()


def test_the_state_file_lives_in_systemds_state_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    minimal = {"jobs": [{"name": "a", "spreadsheet": "s", "dataset_id": "1",
                         "columns": {"stage": "S", "email": "E"}, "stages": {"New": "Lead"}}]}  # fmt: skip
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    assert config_module.parse(minimal).state_path == Path("sheetsync-state.db")
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/sheetsync:/var/lib/other")
    assert config_module.parse(minimal).state_path == Path("/var/lib/sheetsync/sheetsync-state.db")
    # Given in the file: relative to the file; absolute paths stay as they are.
    given = config_module.parse({**minimal, "state_path": "s.db"}, base_dir=tmp_path)
    assert given.state_path == tmp_path / "s.db"
    absolute = config_module.parse({**minimal, "state_path": "/srv/s.db"}, base_dir=tmp_path)
    assert absolute.state_path == Path("/srv/s.db")
    token = config_module.parse(
        {**minimal, "meta": {"access_token_file": "token"}}, base_dir=tmp_path
    )
    assert token.meta.access_token_file == tmp_path / "token"


def test_a_stage_given_as_a_mapping_reports_only_what_is_wrong_with_the_mapping() -> None:
    found = problems(
        {
            "jobs": [
                job_config(stages={"New": "Lead", "Won": {"event": "Purchase", "value_colum": "X"}})
            ]
        }
    )
    assert found == ["jobs[0].stages.Won.value_colum: unknown key (check its spelling)"]
