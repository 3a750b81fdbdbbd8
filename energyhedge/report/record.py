"""The report view and the recommendation record of one decision, made together.

``energyhedge optimize`` and the nightly run both call ``report_and_recommendation``: the record
is built once, from the decision run (stress rows, alerts) and the one recommendation sentence
the report states, so the two always agree.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from energyhedge.alerts import Alert, operator_alerts
from energyhedge.decide import DecisionRun
from energyhedge.report.assemble import ReportContext, report_data
from energyhedge.report.content import stress_rows
from energyhedge.report.html import ReportData, recommendation_sentence
from energyhedge.report.outputs import build_recommendation


def report_and_recommendation(
    run: DecisionRun, context: ReportContext, *, as_of: date
) -> tuple[ReportData, dict]:
    """The report's data (``changes`` not yet filled) and the recommendation.json object."""
    data = report_data(run, context)
    recommendation = build_recommendation(
        run,
        context,
        as_of=as_of,
        sentence=recommendation_sentence(data),
        stress=[asdict(row) for row in stress_rows(run.fresh.kind, run.out_of_sample)],
    )
    return data, recommendation


def run_alerts(run: DecisionRun, *, findings: list, refresh: str) -> tuple[Alert, ...]:
    """The operator alerts of a decision, on its out-of-sample scenarios."""
    return tuple(
        operator_alerts(
            run.fresh_problem,
            run.decision,
            findings=findings,
            solver=run.solution.solver,
            refresh=refresh,
            iso=run.campus.iso,
        )
    )
