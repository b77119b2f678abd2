"""The portal: where a message's link `/r/{token}` lands, with every option the journey
allows now. Plain HTML forms (no JavaScript), mobile first, English or Spanish.

Until the customer passes a light check (the last four digits of the number we texted,
or the email address we wrote to; five tries per link, taken in the store before an
answer is compared), a page shows the creditor's name, the check and a way to stop
messages (which needs no check), and nothing about the debt: no amount, no account
(Regulation F 1006.6(d): a shared phone or inbox must not learn of it). After it, a
session cookie scoped to that link lasts 30 minutes, and every page shows the account's
reference (the last four characters of its id) and the creditor's contact details
(phone, hours and their zone), so the page can be told from phishing. Only a browser's
GET (or the first form sent) counts as the customer opening the link. Every form
carries a CSRF token bound to the link and the session; every action is one log line
(account id and action, never personal data).

- `site`: the routes: reading a link, the check, a section's page and form, rendering
  (Starlette's `Jinja2Templates`), the way to the provider and the receipt after it.
- `sections`: what each section does (`HANDLERS`), by the slug of its row in
  `rapport.contract.portal.SECTIONS` (slug, template, open before the check, link name).
- `speech`: languages (Babel `Translations` of `locales/`), money, dates, times and zones,
  the creditor's contact details as a page shows them.
- `calls`, `amounts`: the times a person may call; what a part payment may be.
- `templates/`, `static/`, `locales/`: the pages, their stylesheet, their Spanish.
"""

from rapport.web.portal.site import Portal

__all__ = ["Portal"]
