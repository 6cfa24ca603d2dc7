"""Time zone of each region (deadlines are counted in the region's working hours)."""
from __future__ import annotations

DEFAULT = "Europe/Moscow"
REGION_TZ = {
    "Калининградская область": "Europe/Kaliningrad",
    "Самарская область": "Europe/Samara", "Удмуртская республика": "Europe/Samara",
    "Астраханская область": "Europe/Astrakhan", "Саратовская область": "Europe/Saratov",
    "Ульяновская область": "Europe/Ulyanovsk", "Волгоградская область": "Europe/Volgograd",
    "Республика Башкортостан": "Asia/Yekaterinburg", "Курганская область": "Asia/Yekaterinburg",
    "Оренбургская область": "Asia/Yekaterinburg", "Пермский край": "Asia/Yekaterinburg",
    "Свердловская область": "Asia/Yekaterinburg", "Тюменская область": "Asia/Yekaterinburg",
    "Челябинская область": "Asia/Yekaterinburg", "Ханты-Мансийский автономный округ - Югра": "Asia/Yekaterinburg",
    "Ямало-Ненецкий автономный округ": "Asia/Yekaterinburg",
    "Омская область": "Asia/Omsk",
    "Новосибирская область": "Asia/Novosibirsk", "Томская область": "Asia/Tomsk", "Алтайский край": "Asia/Barnaul",
    "Республика Алтай": "Asia/Barnaul", "Кемеровская область": "Asia/Novokuznetsk",
    "Красноярский край": "Asia/Krasnoyarsk", "Республика Тыва": "Asia/Krasnoyarsk", "Республика Хакасия": "Asia/Krasnoyarsk",
    "Иркутская область": "Asia/Irkutsk", "Республика Бурятия": "Asia/Irkutsk",
    "Забайкальский край": "Asia/Chita", "Амурская область": "Asia/Yakutsk", "Республика Саха (Якутия)": "Asia/Yakutsk",
    "Приморский край": "Asia/Vladivostok", "Хабаровский край": "Asia/Vladivostok", "Еврейская автономная область": "Asia/Vladivostok",
    "Сахалинская область": "Asia/Sakhalin", "Магаданская область": "Asia/Magadan",
    "Камчатский край": "Asia/Kamchatka", "Чукотский автономный округ": "Asia/Anadyr",
    "Байконур": "Asia/Qyzylorda",
}


def region_timezone(region: str | None) -> str:
    return REGION_TZ.get(region or "", DEFAULT)
