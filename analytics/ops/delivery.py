"""Delivery: the monthly report by e-mail (SMTP) and the early-warning digest to the group
robots of 企业微信 (WeCom) and 钉钉 (DingTalk).

Settings live in a TOML file outside the repository: $STEELSIGHT_CONFIG, else
.streamlit/secrets.toml (git-ignored). Sections:

    [smtp]
    host = "smtp.example.com"   port = 465   security = "ssl"   # ssl | starttls | none
    user = "report@example.com" password = "…"  sender = "report@example.com"
    [smtp.recipients]            # built with that level's view of the data
    executive = ["gm@example.com"]
    manager = ["sales-lead@example.com"]
    [smtp.users]                 # a user's own report, in their scope (a rep's customers)
    zhangwei = "zw@example.com"
    [push.wecom]
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
    [push.dingtalk]
    url = "https://oapi.dingtalk.com/robot/send?access_token=…"
    secret = "SEC…"               # the robot's 加签 secret, when signing is on

Message formats follow each platform's robot documentation: WeCom {"msgtype": "markdown",
"markdown": {"content": …}} (content ≤ 4,096 bytes); DingTalk {"msgtype": "markdown",
"markdown": {"title", "text"}} with timestamp and sign = Base64(HmacSHA256(secret,
"timestamp\\nsecret")) appended to the URL when a secret is set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
import tomllib
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.display import warning_words
from analytics.display.i18n import Labels
from analytics.domain.warning import Digest

ROOT = Path(__file__).resolve().parents[2]
WECOM_LIMIT_BYTES = 4096


class DeliveryError(RuntimeError):
    pass


def load_config(path: str | None = None) -> dict[str, Any]:
    """The settings file named by ``path``, $STEELSIGHT_CONFIG or .streamlit/secrets.toml."""
    chosen = Path(path or os.environ.get("STEELSIGHT_CONFIG") or
                  ROOT / ".streamlit" / "secrets.toml")
    if not chosen.exists():
        raise DeliveryError(f"no settings file at {chosen} (set STEELSIGHT_CONFIG)")
    with chosen.open("rb") as f:
        return tomllib.load(f)


# --------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    mime: str


MIME = {"pdf": "application/pdf", "html": "text/html",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def send_mail(smtp: dict[str, Any], *, to: list[str], subject: str, body: str,
              attachments: list[Attachment]) -> None:
    """One message to ``to`` with the attachments, over SSL, STARTTLS or plain SMTP."""
    if not to:
        return
    message = EmailMessage()
    message["From"] = smtp.get("sender") or smtp.get("user") or "steelsight@localhost"
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    for a in attachments:
        main, _, sub = a.mime.partition("/")
        message.add_attachment(a.data, maintype=main, subtype=sub, filename=a.filename)
    host, port = str(smtp["host"]), int(smtp.get("port", 465))
    security = str(smtp.get("security", "ssl"))
    timeout = float(smtp.get("timeout", 30))
    client: smtplib.SMTP
    if security == "ssl":
        client = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                  context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if smtp.get("user") and smtp.get("password"):
            client.login(str(smtp["user"]), str(smtp["password"]))
        client.send_message(message)


# --------------------------------------------------------------------------------------------
# Group robots
# --------------------------------------------------------------------------------------------
def dingtalk_url(url: str, secret: str | None, *, now_ms: int | None = None) -> str:
    """The webhook URL with timestamp and sign when the robot has a signing secret."""
    if not secret:
        return url
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(),
                      hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit - 4].decode("utf-8", errors="ignore") + "\n…"


def wecom_payload(title: str, markdown: str) -> dict[str, Any]:
    return {"msgtype": "markdown",
            "markdown": {"content": _truncate_utf8(f"## {title}\n{markdown}",
                                                   WECOM_LIMIT_BYTES)}}


def dingtalk_payload(title: str, markdown: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"title": title,
                                                "text": f"## {title}\n\n{markdown}"}}


def post_json(url: str, payload: dict[str, Any], *, timeout: float = 15.0) -> dict[str, Any]:
    """POST the payload; the robots answer {"errcode": 0, "errmsg": "ok"} when they accept."""
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False)
                                     .encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read().decode("utf-8") or "{}")
    if answer.get("errcode", 0) != 0:
        raise DeliveryError(f"robot refused the message: {answer}")
    return answer


def push(config: dict[str, Any], title: str, markdown: str) -> list[str]:
    """Post to every robot configured under [push]; returns the platforms posted to."""
    done = []
    robots = config.get("push", {})
    if "wecom" in robots:
        post_json(str(robots["wecom"]["url"]), wecom_payload(title, markdown))
        done.append("wecom")
    if "dingtalk" in robots:
        ding = robots["dingtalk"]
        post_json(dingtalk_url(str(ding["url"]), ding.get("secret")),
                  dingtalk_payload(title, markdown))
        done.append("dingtalk")
    if not done:
        raise DeliveryError("no [push.wecom] or [push.dingtalk] in the settings")
    return done


def digest_markdown(labels: Labels, digest: Digest, *, top: int = 5) -> str:
    """The early-warning digest in words: top at-risk customers with their reasons,
    over-limit customers, each person's overdue follow-ups, the stock's floating P/L and the
    products below safety or losing beyond the alert threshold."""
    head = f"**{labels('digest_at_risk')}**"
    if digest.warnings.attrs.get("churn_basis") == "rules":
        head += f" {labels('digest_rules')}"
    lines = [head]
    for row in digest.warnings.head(top).to_dict("records"):
        lines.append(f"- {row['name']}: {labels.money(float(row['money_at_stake_cny']))} · "
                     f"{warning_words.describe(row['reasons'], labels)}")
    if digest.warnings.empty:
        lines.append(f"- {labels('digest_none')}")
    lines.append(f"\n**{labels('digest_over_limit')}**")
    for row in digest.over_limit.head(top).to_dict("records"):
        used = labels.money(float(row["exposure_cny"]))
        limit = labels.money(float(row["credit_limit_cny"] or 0.0))
        lines.append(f"- {row['name']}: {labels('digest_exposure', exposure=used, limit=limit)}")
    if digest.over_limit.empty:
        lines.append(f"- {labels('digest_none')}")
    late = digest.overdue_followups
    if len(late):  # each person's overdue follow-ups: the morning's to-do list
        lines.append(f"\n**{labels('digest_followups')}**")
        sep = "、" if labels.lang == "zh" else ", "
        for name, theirs in late.groupby("assignee", sort=True):
            names = [str(n or c) for n, c in zip(theirs["customer_name"], theirs["customer_id"],
                                                 strict=True)]
            shown = sep.join(names[:top]) + ("…" if len(names) > top else "")
            said = labels("digest_followups_rep", name=name, n=len(theirs), customers=shown)
            lines.append(f"- {said}")
    lines.append(f"\n**{labels('digest_stock')}**")
    if digest.marked is not None:
        m = digest.marked
        lines.append(f"- {labels('col_floating_cny')}: {labels.money(m['floating_cny'])} "
                     f"({m['floating_pct']:+.2f}%)")
        lines.append(f"- {labels('digest_drawdown')}: {labels.money(m['drawdown_cny'])}")
    for name in labels.values("category", pd.Series(digest.losing, dtype=object)):
        lines.append(f"- {labels('digest_losing', product=name)}")
    for name in labels.values("category", pd.Series(digest.below_safety, dtype=object)):
        lines.append(f"- {labels('digest_below_safety', product=name)}")
    return "\n".join(lines)
