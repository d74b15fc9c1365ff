"""Where a source keeps its days: path templates with day placeholders and Hadoop globs, and Java date
patterns of partition values (daily or hourly). Pure functions: no Spark, no file system.

Real logs often land hourly (`hour=26110105/`, `dt=2026-11-01/hr=05/`, Avazu's `hour` = YYMMDDHH): a
day is then the union of its hours, and the days a source has are derived from what the hours say.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# placeholder -> (strftime format, regex of its text, Hadoop glob matching any day)
PLACEHOLDERS: dict[str, tuple[str, str, str]] = {
    "ds": ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}", "????-??-??"),
    "ds_nodash": ("%Y%m%d", r"\d{8}", "????????"),
    "yymmdd": ("%y%m%d", r"\d{6}", "??????"),
    "yyyy": ("%Y", r"\d{4}", "????"),
    "mm": ("%m", r"\d{2}", "??"),
    "dd": ("%d", r"\d{2}", "??"),
}
_WHOLE_DAY = ("ds", "ds_nodash", "yymmdd")
_PARTS = ("yyyy", "mm", "dd")
_BRACED = re.compile(r"\{([^{}]*)\}")
_GLOB_CHARS = "*?["


def _known() -> str:
    return ", ".join("{" + p + "}" for p in PLACEHOLDERS)


def placeholders(template: str) -> list[str]:
    """The day placeholders of a path template, in order (repeats kept)."""
    return _BRACED.findall(template)


def check_template(template: str) -> None:
    """ValueError unless every {name} is a known placeholder and the day can be read back from a path."""
    names = placeholders(template)
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        raise ValueError(
            f"path {template!r}: unknown placeholder {{{unknown[0]}}} (known: {_known()}; "
            "Hadoop {a,b} alternation is not supported, use * or ?)"
        )
    if (
        any(n in _PARTS for n in names)
        and not any(n in _WHOLE_DAY for n in names)
        and not all(p in names for p in _PARTS)
    ):
        raise ValueError(f"path {template!r}: {{yyyy}}, {{mm}} and {{dd}} must appear together")


def has_day(template: str) -> bool:
    """Whether the template names the day (else every day reads the same path)."""
    return bool(placeholders(template))


def has_glob(path: str) -> bool:
    return any(ch in path for ch in _GLOB_CHARS)


def render(template: str, day: dt.date) -> str:
    """The template for one day: each placeholder replaced by the day in its format (globs stay)."""
    return _BRACED.sub(lambda m: day.strftime(PLACEHOLDERS[m.group(1)][0]), template)


def glob_all_days(template: str) -> str:
    """A Hadoop glob matching the template's paths of every day."""
    return _BRACED.sub(lambda m: PLACEHOLDERS[m.group(1)][2], template)


def _glob_regex(text: str) -> str:
    """A Hadoop glob fragment (no placeholders) as a regex that stays within one path segment."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[" and "]" in text[i + 1 :]:
            end = text.index("]", i + 1)
            body = text[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class DayMatcher:
    """Reads the day back from a path matched by `glob_all_days(template)`: the template's segments from
    the first one with a placeholder or glob are matched against the same number of trailing segments of
    the path (so scheme, authority and symlinked prefixes do not matter)."""

    segments: int
    regex: re.Pattern
    groups: tuple[str, ...]  # placeholder name of each group, in order

    @classmethod
    def of(cls, template: str) -> DayMatcher:
        parts = [p for p in template.split("/") if p]
        first = next((i for i, p in enumerate(parts) if "{" in p or has_glob(p)), len(parts) - 1)
        tail = "/".join(parts[first:])
        pieces, groups, pos = [], [], 0
        for m in _BRACED.finditer(tail):
            pieces.append(_glob_regex(tail[pos : m.start()]))
            pieces.append(f"({PLACEHOLDERS[m.group(1)][1]})")
            groups.append(m.group(1))
            pos = m.end()
        pieces.append(_glob_regex(tail[pos:]))
        return cls(len(parts) - first, re.compile("".join(pieces)), tuple(groups))

    def day_of(self, path: str) -> dt.date | None:
        """The day of a matched path; None when it does not fit the template or its parts disagree."""
        parts = [p for p in path.split("/") if p]
        m = self.regex.fullmatch("/".join(parts[-self.segments :]))
        if m is None:
            return None
        values = dict(zip(self.groups, m.groups(), strict=True))
        days = set()
        try:
            for name, text in zip(self.groups, m.groups(), strict=True):
                if name in _WHOLE_DAY:
                    days.add(dt.datetime.strptime(text, PLACEHOLDERS[name][0]).date())
            if all(p in values for p in _PARTS):
                days.add(dt.date(int(values["yyyy"]), int(values["mm"]), int(values["dd"])))
        except ValueError:
            return None
        return days.pop() if len(days) == 1 else None


# Java (DateTimeFormatter) pattern letters a partition value may use -> (regex, field)
_LETTERS = {
    "yyyy": (r"\d{4}", "year"),
    "yy": (r"\d{2}", "year2"),
    "MM": (r"\d{2}", "month"),
    "dd": (r"\d{2}", "day"),
    "HH": (r"\d{2}", "hour"),
    "mm": (r"\d{2}", "minute"),
    "ss": (r"\d{2}", "second"),
}
_TOKEN = re.compile(r"'([^']*)'|(yyyy|yy|MM|dd|HH|mm|ss)|([A-Za-z])|(.)", re.S)


@dataclass(frozen=True)
class PartitionFormat:
    """A Java date pattern of partition values (`yyyy-MM-dd`, `yyyyMMdd`, `yyMMddHH`, `yyyy-MM-dd-HH`):
    which day a value belongs to, and (for a daily pattern) the value of a day. Fixed-width fields only,
    so a value is read strictly; the letters supported are yyyy yy MM dd HH mm ss and quoted literals."""

    pattern: str

    def _tokens(self) -> list[tuple[str, str]]:
        """[(kind, text)]: kind 'field' (a supported letter run) or 'literal'."""
        out = []
        for m in _TOKEN.finditer(self.pattern):
            quoted, field, letter, other = m.groups()
            if letter is not None:
                raise ValueError(
                    f"partition_format {self.pattern!r}: pattern letter '{letter}' is not supported "
                    "(use yyyy, yy, MM, dd, HH, mm, ss; quote literal letters: 'T')"
                )
            if field is not None:
                out.append(("field", field))
            else:
                out.append(("literal", "'" if quoted == "" else (quoted if quoted is not None else other)))
        return out

    def validate(self) -> None:
        fields = [t for k, t in self._tokens() if k == "field"]
        if not ({"yyyy", "yy"} & set(fields) and "MM" in fields and "dd" in fields):
            raise ValueError(f"partition_format {self.pattern!r}: needs a year (yyyy or yy), MM and dd")
        if len(fields) != len(set(fields)):
            raise ValueError(f"partition_format {self.pattern!r}: a field appears twice")

    @property
    def daily(self) -> bool:
        """True when a value names a whole day (no hour, minute or second)."""
        return not {"HH", "mm", "ss"} & {t for k, t in self._tokens() if k == "field"}

    def _fields(self, value: str) -> dict[str, int] | None:
        """The fields of a value that fits the pattern and names a real time; None otherwise."""
        regex, names = [], []
        for kind, text in self._tokens():
            if kind == "field":
                regex.append(f"({_LETTERS[text][0]})")
                names.append(_LETTERS[text][1])
            else:
                regex.append(re.escape(text))
        m = re.fullmatch("".join(regex), value)
        if m is None:
            return None
        v = {n: int(x) for n, x in zip(names, m.groups(), strict=True)}
        if "year2" in v:
            v["year"] = 2000 + v.pop("year2")  # Java's yy reads 2000-2099
        try:
            dt.datetime(v["year"], v["month"], v["day"], v.get("hour", 0), v.get("minute", 0), v.get("second", 0))
        except ValueError:
            return None
        return v

    def day_of(self, value: str) -> dt.date | None:
        """The day a partition value belongs to; None when it does not fit the pattern."""
        v = self._fields(value)
        return None if v is None else dt.date(v["year"], v["month"], v["day"])

    def hour_of(self, value: str) -> int | None:
        """The hour of a partition value (None for daily patterns or a value that does not fit)."""
        v = self._fields(value)
        return None if v is None else v.get("hour")

    def format(self, day: dt.date) -> str:
        """The partition value of a day (daily patterns only)."""
        out = []
        for kind, text in self._tokens():
            if kind == "literal":
                out.append(text)
            else:
                out.append(
                    {
                        "yyyy": f"{day.year:04d}",
                        "yy": f"{day.year % 100:02d}",
                        "MM": f"{day.month:02d}",
                        "dd": f"{day.day:02d}",
                    }[text]
                )
        return "".join(out)
