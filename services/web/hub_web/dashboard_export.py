"""A dashboard's tables as the files people take away: CSV (UTF-8 with a byte-order mark, so Excel reads Persian)
and Excel (one sheet per table, right to left in Persian). They are the very tables the page shows beside its
charts, so the page and its files can never disagree; a hidden group is written in words, never as a number."""

import csv
import io
import re

from openpyxl import Workbook

from hub_web.open_data import Table, written

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def as_csv(tables: list[tuple[Table, str]], lang: str, threshold: int) -> bytes:
    """Each table under its title, with `first_column` naming its rows: [(table, first_column), ...]."""
    text = io.StringIO()
    writer = csv.writer(text)
    for table, first_column in tables:
        writer.writerow([table.title])
        writer.writerow([first_column, *table.columns])
        for label, numbers in table.rows:
            writer.writerow([label, *(written(number, lang, threshold, persian=False) for number in numbers)])
        writer.writerow([])
    return ("\ufeff" + text.getvalue()).encode("utf-8")


def as_xlsx(tables: list[tuple[Table, str]], lang: str, threshold: int) -> bytes:
    """A sheet per table; a shown figure is a number the spreadsheet can add up, a hidden one its words."""
    book = Workbook()
    book.remove(book.active)
    for table, first_column in tables:
        sheet = book.create_sheet(_sheet_name(table.title, book.sheetnames))
        sheet.sheet_view.rightToLeft = lang == "fa"
        sheet.append([first_column, *table.columns])
        for label, numbers in table.rows:
            sheet.append([label, *(number.value if _plain(number) else written(number, lang, threshold, persian=False)
                                   for number in numbers)])
            for column, number in enumerate(numbers, start=2):
                if _plain(number) and number.unit == "share":
                    sheet.cell(row=sheet.max_row, column=column).number_format = "0.0%"
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def _plain(number) -> bool:
    return not number.suppressed and number.value is not None


def _sheet_name(title: str, taken: list[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", title)[:28].strip()
    return name if name not in taken else f"{name[:25]} {len(taken) + 1}"
