"""Province, city, district and residential area (小区) from a Chinese postal address.

Addresses are written from the largest unit down: 浙江省杭州市西湖区文三路123号翠苑小区5栋2单元1203室. The
municipalities (北京市, 上海市, 天津市, 重庆市) are province and city at once. The area is the named estate or building
between the house number and the building/floor numbers; without one the address has no area (a road address).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

MUNICIPALITIES = ("北京市", "上海市", "天津市", "重庆市")
_PROVINCE = re.compile(r"^(.{2,12}?(?:省|自治区|特别行政区))")
_CITY = re.compile(r"^(.{2,10}?(?:市|自治州|地区|盟))")
_DISTRICT = re.compile(r"^(.{1,10}?(?:新区|区|县|旗|市|街道|镇|工业园区))")
# 号 then the estate or building name, then its building, unit or floor number.
_AREA_AFTER_NUMBER = re.compile(
    r"号(?:院)?([^\d号栋幢单元层室,，\s]{2,14}?)(?=[0-9一二三四五六七八九十]+(?:栋|幢|号楼|座|单元|层|楼|区|期))")
_AREA_SUFFIX = re.compile(
    r"([^\d号路街道巷弄,，\s]{2,10}?(?:小区|花园|家园|新村|社区|公寓|大厦|广场|中心|花城|华庭|名邸|佳苑|嘉园|苑|城|湾|里|居|园))")


@dataclass(frozen=True)
class Place:
    province: Optional[str] = None
    city: Optional[str] = None
    district: Optional[str] = None
    community: Optional[str] = None

    @property
    def area(self) -> Optional[str]:
        """The 小区 with the city and district that tell it from namesakes elsewhere: 杭州市西湖区翠苑小区."""
        if not self.community:
            return None
        return "".join(p for p in (self.city, self.district, self.community) if p)


def parse(address: object) -> Place:
    if not isinstance(address, str) or not address.strip():
        return Place()
    text = re.sub(r"\s+", "", address)
    province = city = district = None
    for name in MUNICIPALITIES:
        if text.startswith(name):
            province = city = name
            text = text[len(name):]
            break
    else:
        match = _PROVINCE.match(text)
        if match:
            province, text = match.group(1), text[match.end():]
        match = _CITY.match(text)
        if match:
            city, text = match.group(1), text[match.end():]
    match = _DISTRICT.match(text)
    if match:
        district, text = match.group(1), text[match.end():]
    community = None
    match = _AREA_AFTER_NUMBER.search(text)
    if match:
        community = match.group(1)
    else:
        after_number = text.split("号", 1)[1] if "号" in text else ""
        match = _AREA_SUFFIX.search(after_number)
        if match:
            community = match.group(1)
    return Place(province, city, district, community)
