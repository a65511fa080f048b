"""The REMS form as a printable, self-contained HTML document (A4): the PDF's source.

Laid out in the form's sections; each answer says whether the session record gave it or a
person entered it, with the record's evidence beside it."""

from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path

from jinja2 import Environment

from backend import __version__
from backend.rems import rules
from backend.rems.service import FormView
from backend.reports.html import document_environment

TEMPLATES = Path(__file__).parent / "templates"
SOURCE_WORDS = {
    rules.Source.RECORD: "from the record",
    rules.Source.ENTERED: "entered",
    rules.Source.MISSING: "not answered",
}


@cache
def _environment() -> Environment:
    return document_environment(TEMPLATES)


def _when(moment: datetime | None, zone: tzinfo) -> str:
    return "—" if moment is None else rules.when(moment, zone)


def render_form_html(view: FormView, zone: tzinfo) -> str:
    sections = [
        (name, [s for s in view.states if s.question.section == name]) for name in rules.SECTIONS
    ]
    gaps = {q.key for q in view.missing}

    def source(s: rules.FieldState) -> tuple[str, str]:
        # A question asked only in some cases (the account of a serious adverse event) is not
        # "not answered" until that case arises.
        if (
            s.source is rules.Source.MISSING
            and not s.question.required
            and s.question.key not in gaps
        ):
            return "not needed", "optional"
        return SOURCE_WORDS[s.source], s.source.value

    rows = {
        s.question.key: {
            "label": s.question.label,
            "shown": rules.shown(s.question, s.value),
            "source": source(s)[0],
            "source_key": source(s)[1],
            # The record's evidence where it answered; where a person overrode it, what it said.
            "detail": s.record_detail,
            "record_said": (
                rules.shown(s.question, s.record_value)
                if s.source is rules.Source.ENTERED and s.record_value is not None
                else None
            ),
        }
        for s in view.states
    }
    template = _environment().get_template("rems_form.html")
    return template.render(
        v=view,
        sections=sections,
        rows=rows,
        zone_name=str(zone),
        treated=_when(view.dosing_started_at, zone),
        completed=_when(view.completed_at, zone),
        updated=_when(view.updated_at, zone),
        generated=_when(view.generated_at, zone),
        due=view.due_date.strftime("%d %b %Y") if view.due_date else "—",
        missing=[q.label for q in view.missing],
        version=__version__,
    )
