"""CSV and XLSX downloads of report rows, with Persian headers."""

import csv
import io

from fastapi.responses import Response
from openpyxl import Workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS_FA = {
    "key": "گروه", "received": "دریافتی", "answered": "پاسخ داده‌شده", "overdue": "دارای تأخیر",
    "response_hours_median": "میانه زمان پاسخ (ساعت)", "response_hours_p90": "صدک ۹۰ زمان پاسخ (ساعت)",
    "response_working_days_median": "میانه زمان پاسخ (روز کاری)", "response_working_days_p90": "صدک ۹۰ زمان پاسخ (روز کاری)",
    "on_time_rate": "نرخ پاسخ به‌موقع", "reopen_rate": "نرخ بازگشایی", "transfers": "تعداد انتقال", "rank": "رتبه",
    "unit_id": "واحد", "cases": "پرونده‌ها", "conduct_cases": "شکایت از رفتار کارکنان", "rate_per_100": "نرخ در هر ۱۰۰ پرونده",
}
DOWNLOADS: dict[int | str, dict] = {200: {"description": "The report (JSON), or a download with format=csv|xlsx", "content": {
    "text/csv": {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


def download(rows: list[dict], name: str, fmt: str, columns: list[str]) -> Response:
    """`rows` as CSV or XLSX; `columns` name the header row when there are no rows."""
    columns = list(rows[0]) if rows else columns
    headers = [HEADERS_FA.get(column, column) for column in columns]
    disposition = {"content-disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(headers)
        writer.writerows([row.get(column) for column in columns] for row in rows)
        return Response(("\ufeff" + text.getvalue()).encode(), media_type="text/csv; charset=utf-8", headers=disposition)
    book = Workbook()
    sheet = book.active
    sheet.title = name[:31]
    sheet.sheet_view.rightToLeft = True
    sheet.append(headers)
    for row in rows:
        sheet.append([row.get(column) for column in columns])
    data = io.BytesIO()
    book.save(data)
    return Response(data.getvalue(), media_type=XLSX, headers=disposition)
