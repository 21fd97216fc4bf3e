"""The managers' dashboards as tables, built from reporting's answers and drawn twice: as a chart and as the
table beside it (`hub_web.charts`). The portal decides nothing about who may see what, nor what is too small to
show: a group or total reporting hides (`hidden`) stays hidden here, in words, with a stub bar that tells nothing of
its size. Reporting hides a group with fewer than 5 ratings and, beside it, whatever would give it away by
subtraction (a larger group, the total), without saying which is which: so a hidden figure may be of any size and is
written "پنهان" ("hidden"), not "fewer than 5"."""

from dataclasses import dataclass

from hub_shared.reference import topics
from hub_web.open_data import Number, Table, month_name

NATIONAL = "national"


@dataclass(frozen=True)
class Row:
    """A table row's label, where it leads (the drill-down, or None) and its figures."""

    label: str
    link: str | None
    numbers: list[Number]


def label_text(lang: str):
    return lambda fa, en: fa if lang == "fa" else en


def satisfaction_table(data: dict, names: dict[str, str], lang: str, link) -> tuple[Table, list[Row]]:
    """One row per group of the answer (a unit one level down, or a person), then the whole subtree: ratings, mean
    score, the period before, the change, each aspect, the on-time rate. `link(key)` is a group's drill-down."""
    t = label_text(lang)
    aspects = ("respect", "speed", "quality", "conduct")
    table = Table("satisfaction", t("رضایت مراجعان (امتیاز ۱ تا ۵)", "Visitors' satisfaction (score 1 to 5)"),
                  [t("تعداد ارزیابی", "Ratings"), t("میانگین امتیاز", "Mean score"), t("دوره پیش", "Period before"),
                   t("تغییر", "Change"), t("احترام و ادب", "Respect"), t("سرعت", "Speed"), t("کیفیت پاسخ", "Quality"),
                   t("رفتار کارکنان", "Staff conduct"), t("پاسخ به‌موقع", "On time")], charted=1, ceiling=5)
    rows = []
    for group in [*data["groups"], {**data["total"], "key": None}]:
        hidden = group.get("hidden") is not None
        numbers = [Number(group.get("ratings"), hidden, any_size=True), Number(group.get("average"), hidden, "score", True),
                   Number(group.get("previous_average"), hidden, "score", True), Number(group.get("trend"), hidden, "change", True),
                   *(Number((group.get("aspects") or {}).get(a), hidden, "score", True) for a in aspects),
                   Number(group.get("on_time_rate"), hidden, "share", True)]
        if group["key"] is None:
            label, target = t("همه", "All"), None
        else:
            label, target = names.get(group["key"], group["key"]), link(group["key"])
        rows.append(Row(label, target, numbers))
        table.rows.append((label, numbers))
    return table, rows


def sla_table(report: dict, names: dict[str, str], lang: str, link) -> tuple[Table, list[Row]]:
    """Cases on time and overdue per unit one level down (reporting's `group_by=unit`), then the whole subtree;
    escalations are those of the period, at the unit holding the case."""
    t = label_text(lang)
    table = Table("sla", t("پاسخ به‌موقع به تفکیک واحد", "Answered on time, by unit"),
                  [t("دریافتی", "Received"), t("پاسخ داده‌شده", "Answered"), t("گذشته از مهلت", "Overdue"),
                   t("پاسخ به‌موقع", "On time"), t("میانه زمان پاسخ (روز کاری)", "Median answer time (working days)"),
                   t("بازگشایی", "Reopened"), t("انتقال", "Transfers"), t("ارجاع به سطح بالاتر", "Escalations")], charted=3, ceiling=1)
    escalated = {e["key"]: e["escalations"] for e in report.get("escalations_by_unit", [])}
    rows = []
    for group in [*report["groups"], {**report["totals"], "key": None}]:
        count = report.get("escalations", 0) if group["key"] is None else escalated.get(group["key"], 0)
        numbers = [*_case_numbers(group), Number(count, False)]
        label = t("همه", "All") if group["key"] is None else names.get(group["key"], group["key"])
        target = None if group["key"] is None else link(group["key"])
        rows.append(Row(label, target, numbers))
        table.rows.append((label, numbers))
    return table, rows


def _case_numbers(group: dict) -> list[Number]:
    return [Number(group["received"], False), Number(group["answered"], False), Number(group["overdue"], False),
            Number(group["on_time_rate"], False, "share"), Number(group["response_working_days_median"], False, "days"),
            Number(group["reopen_rate"], False, "share"), Number(group["transfers"], False)]


def slowest_table(report: dict, names: dict[str, str], lang: str, limit: int = 5) -> Table:
    """The units (with at least `min_cases` cases, as reporting ranks them) with the longest median answer time."""
    t = label_text(lang)
    answered = [g for g in report["ranking"] if g["response_working_days_median"] is not None]
    answered.sort(key=lambda g: (-g["response_working_days_median"], g["key"]))
    table = Table("slowest", t("کندترین واحدها", "The slowest units"),
                  [t("پاسخ داده‌شده", "Answered"), t("میانه زمان پاسخ (روز کاری)", "Median answer time (working days)"),
                   t("پاسخ به‌موقع", "On time")], charted=1)
    for group in answered[:limit]:
        table.rows.append((names.get(group["key"], group["key"]), [
            Number(group["answered"], False), Number(group["response_working_days_median"], False, "days"),
            Number(group["on_time_rate"], False, "share")]))
    return table


def trend_table(months: list[tuple[str, dict]], lang: str) -> Table:
    """Cases per Jalali month of the period: received, answered, overdue, on time."""
    t = label_text(lang)
    table = Table("trend", t("روند ماهانه", "Month by month"),
                  [t("دریافتی", "Received"), t("پاسخ داده‌شده", "Answered"), t("گذشته از مهلت", "Overdue"),
                   t("پاسخ به‌موقع", "On time")], charted=0)
    for month, report in months:
        totals = report["totals"]
        table.rows.append((month_name(month, lang), [Number(totals["received"], False), Number(totals["answered"], False),
                                                     Number(totals["overdue"], False), Number(totals["on_time_rate"], False, "share")]))
    return table


def causes_table(report: dict, lang: str) -> Table:
    """The most frequent topics of the period's cases, against the period before, named as the shared list of
    topics names them."""
    t = label_text(lang)
    labels = {topic.id: t(topic.label_fa, topic.label_en) for topic in topics()}
    table = Table("causes", t("موضوع‌های پرتکرار", "Most frequent topics"),
                  [t("پرونده‌ها", "Cases"), t("دوره پیش", "Period before"), t("تغییر", "Change")], charted=0)
    for topic in report["top_topics"]:
        name = t("دسته‌بندی نشده", "Unclassified") if topic["topic_id"] == "unclassified" else labels.get(topic["topic_id"], topic["topic_id"])
        table.rows.append((name, [Number(topic["cases"], False), Number(topic["previous"], False),
                                  Number(topic["change"], False, "change")]))
    return table


def conduct_table(report: dict, names: dict[str, str], lang: str) -> Table:
    """Complaints about how staff treat citizens, per unit, with their rate per 100 cases."""
    t = label_text(lang)
    table = Table("conduct", t("شکایت از رفتار کارکنان", "Complaints about staff conduct"),
                  [t("پرونده‌ها", "Cases"), t("شکایت از رفتار", "About conduct"), t("در هر ۱۰۰ پرونده", "Per 100 cases")],
                  charted=2)
    for row in report["units"]:
        table.rows.append((names.get(row["unit_id"], row["unit_id"]), [
            Number(row["cases"], False), Number(row["conduct_cases"], False), Number(row["rate_per_100"], False, "number")]))
    return table


def people_table(report: dict, names: dict[str, str], lang: str) -> Table:
    """Complaints about a named member of staff, per person (reporting gives them to staff only)."""
    t = label_text(lang)
    table = Table("conduct-people", t("شکایت‌های مربوط به کارکنان", "Complaints about named staff"), [t("پرونده‌ها", "Cases")])
    for row in report["employees"]:
        table.rows.append((f"{row['employee_id']} ({names.get(row['unit_id'], row['unit_id'])})", [Number(row["conduct_cases"], False)]))
    return table


def crumbs(root: str, own: str) -> list[str]:
    """The drill-down path from the user's own unit to `root`: national → agency → province → county → unit."""
    parts = [] if root == NATIONAL else root.split("/")
    path = [NATIONAL] + ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    start = path.index(own) if own in path else len(path) - 1
    return path[start:]
