from kith.tracking.useragent import UserAgent, parse_user_agent

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"
)
CUBOT = (
    "Mozilla/5.0 (Linux; Android 12; CUBOT X50) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/118.0.0.0 Mobile Safari/537.36"
)


def test_desktop_chrome_on_windows() -> None:
    ua = parse_user_agent(CHROME_WINDOWS)
    assert ua == UserAgent(
        os_name="Windows",
        os_version="10",
        browser_name="Chrome",
        browser_version="131.0.0",
        device_name=None,
        device_brand=None,
        device_model=None,
        device_type="desktop",
        is_bot=False,
    )


def test_iphone_is_mobile_ios() -> None:
    ua = parse_user_agent(IPHONE)
    assert (ua.os_name, ua.os_version) == ("iOS", "17.5")
    assert (ua.browser_name, ua.browser_version) == ("Mobile Safari", "17.5")
    assert (ua.device_name, ua.device_brand, ua.device_model) == ("iPhone", "Apple", "iPhone")
    assert ua.device_type == "mobile"
    assert not ua.is_bot


def test_ipad_is_tablet_despite_mobile_token() -> None:
    ua = parse_user_agent(IPAD)
    assert ua.device_type == "tablet"
    assert ua.device_name == "iPad"
    assert ua.os_name == "iOS"


def test_android_phone_and_tablet() -> None:
    assert parse_user_agent(ANDROID_PHONE).device_type == "mobile"
    tablet = parse_user_agent(ANDROID_TABLET)
    assert tablet.device_type == "tablet"
    assert (tablet.os_name, tablet.os_version) == ("Android", "13")


def test_googlebot_is_bot() -> None:
    ua = parse_user_agent(GOOGLEBOT)
    assert ua.is_bot
    assert ua.device_type == "bot"
    assert ua.browser_name == "Googlebot"
    assert ua.browser_version == "2.1"


def test_tools_and_headless_browsers_are_bots() -> None:
    curl = parse_user_agent("curl/8.5.0")
    assert curl.is_bot and curl.device_type == "bot"
    assert (curl.browser_name, curl.browser_version) == ("curl", "8.5.0")
    assert parse_user_agent("python-requests/2.31.0").is_bot
    assert parse_user_agent("Wget/1.21.4").is_bot
    assert parse_user_agent(HEADLESS).is_bot


def test_cubot_phone_is_not_a_bot() -> None:
    ua = parse_user_agent(CUBOT)
    assert not ua.is_bot
    assert ua.device_type == "mobile"


def test_empty_and_garbage() -> None:
    assert parse_user_agent("") == UserAgent()
    assert parse_user_agent("   ").device_type is None
    garbage = parse_user_agent("### ???")
    assert garbage.browser_name is None and garbage.os_name is None
    assert garbage.device_type == "desktop"
    assert not garbage.is_bot


def test_huge_user_agent_is_truncated_not_rejected() -> None:
    ua = parse_user_agent(CHROME_WINDOWS + "x" * 1_000_000)
    assert ua.browser_name == "Chrome"


def test_result_is_cached() -> None:
    assert parse_user_agent(IPHONE) is parse_user_agent(IPHONE)
