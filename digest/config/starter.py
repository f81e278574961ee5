"""`digest init`: a commented starter config written from the schema itself, so the help and
the defaults never drift from settings.py."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel

from digest.config.settings import Settings


def starter_config() -> str:
    """A commented config written from the schema itself, so help and defaults never drift."""
    lines = ["# digest configuration. Every key is optional except feeds.", ""]
    for name, field in Settings.model_fields.items():
        if name == "base_dir":
            continue
        lines.append(f"# {field.description}")
        if name == "feeds":
            lines += [
                "feeds:",
                "  - name: Example News            # shown as the entry's source",
                "    url: https://example.com/feed.xml",
                "    # section: World             # heading to group under (default: name)",
                "    # max_entries: 5             # cap for this feed",
                "    # fulltext: auto             # auto | always | never",
                "    # include: [climate]         # keep only entries matching one of these",
                "    # exclude: [sponsored, '/\\bpodcast/']   # drop entries matching any",
            ]
        elif name in ("http", "article_pages", *NESTED):
            lines.append(f"{name}:")
            for sub, subfield in _submodel(name).model_fields.items():
                default = subfield.get_default(call_default_factory=True)
                lines.append(f"  {sub}: {_yaml_scalar(default)}  # {subfield.description}")
        elif name in EXAMPLES:
            lines += EXAMPLES[name]
        else:
            lines.append(f"{name}: {_yaml_scalar(field.default)}")
        lines.append("")
    return "\n".join(lines)


NESTED = ("unsubscribe", "bounces", "schedule", "serve")  # sending settings written out key by key
EXAMPLES = {
    "smtp": [
        "# smtp:",
        "#   host: smtp.example.org",
        "#   port: 587",
        "#   security: starttls           # starttls | ssl | none",
        "#   username: digest",
        "#   password_env: DIGEST_SMTP_PASSWORD   # the variable's name, not the password",
        "#   from: The Weekly Digest <digest@example.org>",
        "#   connections: 1               # parallel connections for one issue",
        "#   max_per_second: 0            # a relay's limit; 0: none",
        "#   give_up_after: 3d            # a reader deferred this long is marked failed",
    ],
    "dkim": [
        "# dkim:                           # sign every message (publish the public key first)",
        "#   domain: example.org",
        "#   selector: news2026           # TXT record at news2026._domainkey.example.org",
        "#   private_key_file: dkim.pem   # openssl genrsa -out dkim.pem 2048",
    ],
    "recipients": ["recipients: []  # e.g. [reader@example.org]"],
    "include": ["include: []  # e.g. [climate, energy]: entries must match one (title or text)"],
    "exclude": ['exclude: []  # e.g. [sponsored, "/^deal(s)? of the day/"]'],
    "summary_words": ["# summary_words: 40"],
}


def _yaml_scalar(value: object) -> str:
    text = yaml.safe_dump(
        str(value) if isinstance(value, Path) else value,
        default_flow_style=True,
        allow_unicode=True,
    )
    return text.removesuffix("\n...\n").strip()


def _submodel(name: str) -> type[BaseModel]:
    annotation = Settings.model_fields[name].annotation
    assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation
