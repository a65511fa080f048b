"""The report as PDF: the same HTML, laid out on A4 pages by WeasyPrint."""

from typing import NoReturn

from backend.core.errors import DomainError

# WeasyPrint draws text with Debian's pango; without it the import fails, and only the PDF is
# lost: the HTML report and the CSV need nothing from it.
PANGO_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0"


class PdfUnavailable(DomainError):
    """PDF output cannot work on this server; the message says what to install. Answered 503:
    the HTML and CSV still work, only this output needs a package installed."""

    status_code = 503


def _refuse(url: str, timeout: int = 10, ssl_context: object = None) -> NoReturn:
    # The report is self-contained: fetching anything would be a bug or an attack.
    raise ValueError(f"the session record loads no external resources (asked for {url!r})")


def render_pdf(html: str) -> bytes:
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]
    except ImportError as exc:
        raise PdfUnavailable(
            "PDF output needs the Python package 'weasyprint' (pip install weasyprint)"
        ) from exc
    except OSError as exc:
        raise PdfUnavailable(
            f"PDF output needs the system packages {PANGO_PACKAGES} "
            f"(apt-get install {PANGO_PACKAGES}): {exc}"
        ) from exc
    pdf: bytes = HTML(string=html, url_fetcher=_refuse).write_pdf()
    return pdf
