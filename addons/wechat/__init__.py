"""The WeChat Official Account connector (credentials.yml: `addons.wechat.WeChatInput`, name `wechat`)."""
from addons.wechat.channel import WeChatInput, WeChatOutput

__all__ = ["WeChatInput", "WeChatOutput"]
