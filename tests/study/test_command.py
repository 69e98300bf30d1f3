"""`market-reaction study` as a user runs it: JSON and a plot out; bad input exits 2 with the
file, the line and the reason, as `replay` does."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from services.study.files import study_files
from services.study.params import StudyParams
from services.study.sample import study_sample, write_sample

SAMPLE = study_sample(seed=2, sessions=230, events=6)


def market_reaction(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_study_writes_json_and_plot(tmp_path: Path) -> None:
    anns, prices = write_sample(tmp_path, SAMPLE)
    out, png = tmp_path / "s.json", tmp_path / "s.png"
    done = market_reaction(
        "study",
        "--announcements",
        str(anns),
        "--prices",
        str(prices),
        "--instrument",
        "005380.KS",
        "--model",
        "market_model",
        "--window=-1,3",
        "--out",
        str(out),
        "--plot",
        str(png),
    )
    assert done.returncode == 0, done.stderr
    study = json.loads(out.read_text())
    assert study["model"] == "market_model"
    assert study["window"] == [-1, 3]
    # Hyundai Motor is routed the announcements that name autos (DESIGN §4, routing)
    routed = [a.id for a in SAMPLE.announcements if "autos" in a.sectors]
    assert sorted(e["announcement_id"] for e in study["events"]) == sorted(routed)
    assert {"n", "caar_pct", "t_cs", "z_patell", "t_bmp", "z_sign", "z_rank", "path"} <= set(study)
    assert [p["tau"] for p in study["path"]] == [-1, 0, 1, 2, 3]
    assert all(e["beta"] is not None for e in study["events"] if e["car_pct"] is not None)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("which", "line", "says"),
    [
        ("announcements", '{"id": "x", "published_at": "2024-01-01T00:00:00Z"}', "a.jsonl:2"),
        ("prices", '{"instrument": "KOSPI", "ts": "yesterday", "price": 1}', "p.jsonl:2"),
    ],
)
def test_bad_line_exits_2_with_file_and_line(
    tmp_path: Path, which: str, line: str, says: str
) -> None:
    anns, prices = write_sample(tmp_path, SAMPLE)
    good = {"announcements": anns, "prices": prices}
    lines = good[which].read_text().splitlines()
    bad = tmp_path / ("a.jsonl" if which == "announcements" else "p.jsonl")
    bad.write_text("\n".join([lines[0], line, *lines[1:]]) + "\n")
    good[which] = bad
    done = market_reaction(
        "study",
        "--announcements",
        str(good["announcements"]),
        "--prices",
        str(good["prices"]),
        "--instrument",
        "KOSPI",
        "--out",
        str(tmp_path / "s.json"),
    )
    assert done.returncode == 2
    assert says in done.stderr
    assert "invalid" in done.stderr
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--model", "market"], "needs a benchmark"),
        (["--window=5,0"], "inverted"),
        (["--estimation=-130,2"], "overlaps"),
    ],
)
def test_impossible_study_exits_2(tmp_path: Path, args: list[str], says: str) -> None:
    anns, prices = write_sample(tmp_path, SAMPLE)
    done = market_reaction(
        "study",
        "--announcements",
        str(anns),
        "--prices",
        str(prices),
        "--instrument",
        "KOSPI",
        *args,
    )
    assert done.returncode == 2
    assert says in done.stderr


def test_an_echo_of_an_announcement_counts_once(tmp_path: Path) -> None:
    """The same policy from a second outlet an hour later is the story's echo: the study is the
    same as without it (no extra event, no confounder)."""
    anns, prices = write_sample(tmp_path, SAMPLE)
    first = json.loads(anns.read_text().splitlines()[0])
    published = datetime.fromisoformat(first["published_at"]) + timedelta(hours=1)
    echo = {**first, "id": f"{first['id']}-wire", "source": "wire"}
    echo["published_at"] = published.isoformat()
    with_echo = tmp_path / "with-echo.jsonl"
    with_echo.write_text(anns.read_text() + json.dumps(echo) + "\n")
    params = StudyParams()
    alone = study_files(str(anns), str(prices), "KOSPI", params)
    echoed = study_files(str(with_echo), str(prices), "KOSPI", params)
    assert echoed.as_dict() == alone.as_dict()
    assert echo["id"] not in {e["announcement_id"] for e in echoed.as_dict()["events"]}
