"""Why a case is not processed (rejected) or sent back (returned), in Persian and English: the reasons the
seeds give. Routing's rules and its staff API choose among them; the staff pages offer them; the citizen is told
the chosen one."""

# (Persian, English) for each reason a case is refused or sent back
REJECT_REASONS = {
    "appeal_of_final_ruling": ("اعتراض به رأی قطعی مراجع حل اختلاف در این دفتر قابل رسیدگی نیست؛ از مسیر قضایی پیگیری کنید.",
                               "An appeal against a final ruling of a dispute-resolution body is not examined here; use the courts."),
    "unclear_target": ("مرجع رسیدگی در درخواست به‌طور دقیق مشخص نشده است.", "The target authority is not stated precisely."),
    "outside_every_mandate": ("موضوع در حیطه وظایف هیچ‌یک از دستگاه‌های اجرایی نیست.", "The matter is outside every agency's mandate."),
    "unreasoned": ("شکایت مستدل و مستند نیست؛ دلایل و مدارک را پیوست کنید.", "The complaint is not reasoned or documented; attach reasons and documents."),
}
RETURN_REASONS = {
    "outside_mandate": ("موضوع خارج از حیطه وظایف این دفتر است و به مرجع ارجاع‌دهنده بازگردانده شد.",
                        "The matter is outside this office's mandate and was returned to the body that referred it."),
}
