"""CAP 1.2 documents the alert tests write: Vietnamese warnings for the made-up province Sơn Hà."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

from schedules.tree import AdminTree, Device, Unit

DATA = Path(__file__).resolve().parent.parent / "data"
OASIS = sorted((DATA / "cap" / "oasis").glob("*.xml"))
GEOJSON = DATA / "geo" / "son-ha.geojson"
SENDER = "canhbao@kttv-sonha.example.vn"

UNITS = [
    Unit("tinh-son-ha", "tỉnh Sơn Hà", None, "tinh"),
    Unit("xa-tan-lap", "xã Tân Lập", "tinh-son-ha", "xa"),
    Unit("xa-dong-son", "xã Đông Sơn", "tinh-son-ha", "xa"),
    Unit("xa-hoa-binh", "xã Hòa Bình", "tinh-son-ha", "xa"),
    Unit("xa-bac-son", "xã Bắc Sơn", "tinh-son-ha", "xa"),
    Unit("xa-ven-bien", "xã Ven Biển", "tinh-son-ha", "xa"),
]
DEVICES = [Device(f"loa-{u.id[3:]}", u.id) for u in UNITS[1:]]

# Covers the western 83 % of xã Tân Lập (lon 105.0–105.083), written as CAP writes it: "lat,lon".
TAN_LAP_83 = "21.0,105.0 21.0,105.083 21.1,105.083 21.1,105.0 21.0,105.0"


# Hostile documents: an entity bomb, an external entity, an external DTD.
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol4;</identifier></alert>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE alert SYSTEM "http://127.0.0.1:9/evil.dtd">
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier></alert>"""


def seed_son_ha(registry) -> None:
    """The province, its five communes and one speaker cluster each, in a controller's registry."""
    for u in UNITS:
        registry.add_unit(u.id, u.name, u.parent_id, u.level)
    for d in DEVICES:
        registry.add_device(d.id, f"Cụm loa {d.id[4:]}", d.unit_id)


def seed_son_ha_api(api) -> None:
    """The same tree through the HTTP API of a running controller."""
    for u in UNITS:
        api.post("/api/units", {"id": u.id, "name": u.name, "parent_id": u.parent_id, "level": u.level})
    for d in DEVICES:
        api.post("/api/devices", {"id": d.id, "name": f"Cụm loa {d.id[4:]}", "unit_id": d.unit_id})


def son_ha_tree() -> AdminTree:
    return AdminTree(UNITS, DEVICES)


def cap_time(moment: datetime) -> str:
    """CAP's date-time form: seconds, an explicit offset, never 'Z'."""
    return moment.astimezone(timezone(timedelta(hours=7))).replace(microsecond=0).isoformat()


def vi_alert(identifier: str, *, sent: datetime, expires: datetime | None, msg_type: str = "Alert",
             references: tuple[tuple[str, datetime], ...] = (), status: str = "Actual", scope: str = "Public",
             language: str = "vi-VN", event: str = "Bão", risk: int | None = 4, severity: str = "Extreme",
             urgency: str = "Expected", polygons: tuple[str, ...] = (TAN_LAP_83,), circles: tuple[str, ...] = (),
             geocodes: tuple[tuple[str, str], ...] = (), headline: str = "Bão số 3 đổ bộ",
             description: str = "Bão số 3 gây gió mạnh cấp 10, giật cấp 12.",
             instruction: str = "Người dân ở trong nhà, không ra khơi.", sender: str = SENDER) -> bytes:
    refs = " ".join(f"{sender},{i},{cap_time(s)}" for i, s in references)
    area = "".join(f"<polygon>{p}</polygon>" for p in polygons) + "".join(f"<circle>{c}</circle>" for c in circles)
    area += "".join(f"<geocode><valueName>{n}</valueName><value>{v}</value></geocode>" for n, v in geocodes)
    param = f"<parameter><valueName>riskLevel</valueName><value>{risk}</value></parameter>" if risk else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>{sender}</sender>
  <sent>{cap_time(sent)}</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>{scope}</scope>
  {f"<references>{refs}</references>" if refs else ""}
  <info>
    <language>{language}</language>
    <category>Met</category>
    <event>{escape(event)}</event>
    <urgency>{urgency}</urgency>
    <severity>{severity}</severity>
    <certainty>Likely</certainty>
    <effective>{cap_time(sent)}</effective>
    {f"<expires>{cap_time(expires)}</expires>" if expires else ""}
    <senderName>Đài Khí tượng Thủy văn tỉnh Sơn Hà</senderName>
    <headline>{escape(headline)}</headline>
    <description>{escape(description)}</description>
    <instruction>{escape(instruction)}</instruction>
    {param}
    <area>
      <areaDesc>Phía tây xã Tân Lập</areaDesc>
      {area}
    </area>
  </info>
</alert>
""".encode()
