"""The ``fetch`` subcommand as registered under ``energyhedge data``: arguments, output, errors."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, date, datetime

import pytest
import xlsxwriter
from fake_iso_server import FakeIsoServer, Reply, zip_bytes

from energyhedge.cli import main
from energyhedge.commands.data_fetch import register_fetch
from energyhedge.data.fetch import FetchReport, finish, parse_nodes
from energyhedge.data.fetch_plan import FetchRequest
from energyhedge.data.store import open_store
from energyhedge.errors import ConfigError, DataError


def run_fetch(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="energyhedge data")
    register_fetch(parser.add_subparsers())
    args = parser.parse_args(["fetch", *argv])
    return args.func(args)


def annual_dam_xlsx() -> bytes:
    """An NP4-180-ER style workbook: one sheet per month, the annual column names."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    header = [
        "Delivery Date",
        "Hour Ending",
        "Repeated Hour Flag",
        "Settlement Point",
        "Settlement Point Price",
    ]
    sheets = {
        "Jan": [["01/31/2021", "24:00", "N", "HB_HOUSTON", 19.5]],
        "Feb": [
            ["02/01/2021", "01:00", "N", "HB_HOUSTON", 21.25],
            ["02/01/2021", "01:00", "N", "HB_NORTH", 20.0],
            ["02/15/2021", "08:00", "N", "HB_HOUSTON", 9000.0],
        ],
    }
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate([header, *rows]):
            sheet.write_row(r, 0, row)
    book.close()
    return buffer.getvalue()


@pytest.fixture
def mis(monkeypatch: pytest.MonkeyPatch):
    with FakeIsoServer() as fake:
        monkeypatch.setenv("ENERGYHEDGE_ERCOT_MIS_URL", fake.url)
        listing = {
            "ListDocsByRptTypeRes": {
                "DocumentList": [
                    {
                        "Document": {
                            "DocID": "555",
                            "FriendlyName": "DAMLZHBSPP_2021",
                            "ConstructedName": "rpt.00013060.0000000000000000.DAMLZHBSPP_2021.zip",
                            "PublishDate": "2022-01-01T00:00:00-06:00",
                        }
                    }
                ]
            }
        }
        fake.route("GET", "/misapp/servlets/IceDocListJsonWS", lambda r: Reply.json(listing))
        body = zip_bytes({"DAMLZHBSPP_2021.xlsx": annual_dam_xlsx()})
        fake.route("GET", "/misdownload/servlets/mirDownload", lambda r: Reply(200, body))
        yield fake


def test_mis_xlsx_through_the_command(mis, tmp_path, capsys):
    code = run_fetch(
        "--iso", "ercot", "--market", "dam", "--node", "hb_houston", "--start", "2021-02-01",
        "--end", "2021-02-15", "--source", "mis", "--store", str(tmp_path),
    )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert (
        out
        == "fetched 2 rows of ercot dam HB_HOUSTON 2021-02-01..2021-02-15 (1 of 1 chunks stored)\n"
    )
    stored = open_store(tmp_path).read("ercot", "dam", "HB_HOUSTON")
    # HE01 starts 00:00 CST = 06:00 UTC; HE08 starts 07:00 CST = 13:00 UTC.
    assert stored.select("interval_start_utc", "price_usd_per_mwh").rows() == [
        (datetime(2021, 2, 1, 6, tzinfo=UTC), 21.25),
        (datetime(2021, 2, 15, 13, tzinfo=UTC), 9000.0),
    ]
    (entry,) = [m for m in open_store(tmp_path).manifest() if "mirDownload" in str(m)]
    assert "doclookupId=555" in str(entry)


def test_missing_part_raises_after_storing_the_rest(mis, tmp_path, capsys):
    with pytest.raises(DataError, match=r"1 part\(s\) missing: no rows for .* HB_WEST") as info:
        run_fetch(
            "--iso", "ercot", "--market", "dam", "--node", "HB_HOUSTON,HB_WEST",
            "--start", "2021-02-01", "--end", "2021-02-01", "--source", "mis",
            "--store", str(tmp_path),
        )  # fmt: skip
    assert "run the same command again" in str(info.value)
    assert "fetched 1 rows" in capsys.readouterr().out
    assert open_store(tmp_path).read("ercot", "dam", "HB_HOUSTON").height == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--iso", "ercot", "--interval-minutes", "5"], "--interval-minutes is for PJM"),
        (["--iso", "pjm", "--source", "mis"], "--source mis is ERCOT only"),
        (["--iso", "ercot", "--start", "2024-02-02"], "is before --start"),
        (["--iso", "ercot", "--node", " , "], "--node is empty"),
        (["--iso", "pjm", "--node", "NOWHERE"], "not a PJM hub name"),
    ],
)
def test_bad_arguments_are_config_errors(argv, message, monkeypatch, tmp_path):
    monkeypatch.setenv("PJM_API_KEY", "k")
    base = {"--market": "dam", "--node": "HB_NORTH", "--start": "2024-01-01", "--end": "2024-02-01"}
    args = dict(zip(argv[::2], argv[1::2], strict=True))
    merged = [x for pair in {**base, **args}.items() for x in pair]
    with pytest.raises(ConfigError, match=message):
        run_fetch(*merged, "--store", str(tmp_path))


def test_bad_date_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        run_fetch(
            "--iso",
            "ercot",
            "--market",
            "dam",
            "--node",
            "X",
            "--start",
            "2024-13-01",
            "--end",
            "2024-12-31",
        )
    assert "'2024-13-01' is not a date YYYY-MM-DD" in capsys.readouterr().err


def test_parse_nodes_normalises_and_dedupes():
    assert parse_nodes("hb_north, western  hub,HB_NORTH,") == ("HB_NORTH", "WESTERN HUB")


def test_final_error_names_at_most_five_parts():
    request = FetchRequest("pjm", "dam", ("WESTERN HUB",), date(2024, 1, 1), date(2024, 7, 31))
    report = FetchReport(chunks=7, rows=0, failed=[f"chunk {i}: HTTP 503" for i in range(7)])
    out = io.StringIO()
    with pytest.raises(DataError) as info:
        finish(request, report, out)
    message = str(info.value)
    assert message.startswith("7 part(s) missing: failed chunk 0: HTTP 503 | failed chunk 1")
    assert "chunk 4" in message and "chunk 5" not in message and "and 2 more" in message
    assert out.getvalue().endswith("(0 of 7 chunks stored)\n")


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
def test_deadline_must_be_a_positive_number_of_seconds(value, capsys):
    with pytest.raises(SystemExit):
        run_fetch(
            *("--iso", "pjm", "--market", "dam", "--node", "WESTERN HUB"),
            *("--start", "2025-01-01", "--end", "2025-01-02", "--deadline-s", value),
        )
    assert f"'{value}' is not a positive number of seconds" in capsys.readouterr().err


def test_ancillary_service_prices_are_not_fetched_as_energy(capsys):
    """Market ``as`` holds capacity prices from files; no energy fetcher serves it."""
    with pytest.raises(SystemExit) as info:
        main(
            [
                "data",
                "fetch",
                "--iso",
                "ercot",
                "--market",
                "as",
                "--node",
                "REGUP",
                "--start",
                "2023-01-01",
                "--end",
                "2023-01-02",
            ]
        )
    assert info.value.code == 2
    assert "invalid choice: 'as'" in capsys.readouterr().err
