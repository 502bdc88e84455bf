"""What the card says about citing the dataset and asking for a clip's removal.

The sources' BibTeX entries are facts of each source package (``Source.bibtex``); the entry of
the aggregate itself, and where removal requests go, depend on where the card is published
(a Hub repo id, or a local folder), so they are made here.
"""

from __future__ import annotations

from dance_aggregate import __version__

#: The project's home (its code, its issue tracker).
PROJECT_URL = "https://github.com/dance-aggregate/dance_aggregate"
#: The BibTeX key of the aggregate.
AGGREGATE_KEY = "dance_aggregate"


def hub_url(repo_id: str) -> str | None:
    """The dataset's page on the Hub, when ``repo_id`` is a Hub repo id (``NAMESPACE/NAME``)."""
    return f"https://huggingface.co/datasets/{repo_id}" if repo_id.count("/") == 1 else None


def aggregate_bibtex(repo_id: str, version: str = __version__) -> str:
    """The BibTeX entry of the aggregate: its Hub page when published (else the project's
    page), and the version that built it.

    Args:
        repo_id: The Hub repo the card is for (a local card: the folder name).
        version: The dance_aggregate version.
    """
    url = hub_url(repo_id) or PROJECT_URL
    return (
        f"@misc{{{AGGREGATE_KEY},\n"
        f"  author       = {{{{dance\\_aggregate contributors}}}},\n"
        f"  title        = {{Dance Aggregate: Dance Clips from Public Video Datasets in One Label Schema}},\n"
        f"  howpublished = {{\\url{{{url}}}}},\n"
        f"  note         = {{Built with dance\\_aggregate {version}, {PROJECT_URL}}}\n"
        f"}}"
    )


def bibtex_keys(entries: str) -> list[str]:
    """The keys of the BibTeX entries in ``entries`` (``@kind{key,``), in order."""
    keys = []
    for line in entries.splitlines():
        line = line.strip()
        if line.startswith("@") and "{" in line:
            keys.append(line.split("{", 1)[1].rstrip(",").strip())
    return keys


def removal_contact(repo_id: str) -> str:
    """Where someone filmed in a clip, or owning its rights, asks for its removal."""
    page = hub_url(repo_id)
    tracker = f"{PROJECT_URL}/issues"
    if page:
        return (f"open a discussion at {page}/discussions (or an issue at {tracker}) naming the row `id` or the "
                f"YouTube id; the clip is left out of the next version")
    return (f"open an issue at {tracker} naming the row `id` or the YouTube id (the card of a published copy "
            f"names its Hub discussion page)")
