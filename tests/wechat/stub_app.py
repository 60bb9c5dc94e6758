"""The real WeChat channel served by Sanic, with a stand-in for the bot, for the channel tests.

`python -m tests.wechat.stub_app --port N` (settings from the environment, as Rasa's process reads them). The
stand-in records every message it is given (GET /stub/processed) and answers by the text:
"slow <s> ..." sleeps first, "long" answers with 3 x ~1.5 KB paragraphs, "choose" offers three buttons,
"quiet" says nothing, "timeline" sends the trajectory payload; anything else is echoed.
POST /stub/push {"sender", "message"} has the channel's output channel deliver a message (as Rasa's execute does).
"""
from __future__ import annotations

import argparse
import asyncio
import logging

from sanic import Sanic, response

from addons.wechat.channel import WeChatInput

PARAGRAPH = "包裹正在运输途中，请耐心等待。" * 34  # 16 characters x 34 x 3 bytes = 1,632 bytes
TIMELINE = {"data": {"type": "timeline", "tracking_number": "SF1402837465912", "carrier": "sf",
                     "carrier_name": "顺丰速运", "status": "arrived_hub", "status_label": "到达中转场",
                     "events": [{"time": f"2026-11-2{i}T13:10:00+08:00", "status": "arrived_hub",
                                 "status_label": "到达中转场", "location": f"杭州萧山中转场{i}",
                                 "description": f"快件到达第{i}站"} for i in range(7, 0, -1)]}}

processed: list = []


async def bot(message) -> None:
    processed.append({"text": message.text, "sender_id": message.sender_id, "message_id": message.message_id,
                      "input_channel": message.input_channel, "metadata": message.metadata})
    text = message.text or ""
    out, sender = message.output_channel, message.sender_id
    if text.startswith("slow "):
        await asyncio.sleep(float(text.split()[1]))
        await out.send_response(sender, {"text": f"慢回答：{text}"})
    elif text == "long":
        await out.send_response(sender, {"text": "\n\n".join([PARAGRAPH] * 3)})
    elif text == "choose":
        await out.send_response(sender, {"text": "您想查哪一个？", "buttons": [
            {"title": "顺丰 SF14****5912", "payload": '/inform{"tracking_number":"SF1402837465912"}'},
            {"title": "中通 7581****7465", "payload": '/inform{"tracking_number":"758102937465"}'},
            {"title": "转人工客服", "payload": "/request_human"}]})
    elif text == "quiet":
        return
    elif text == "timeline":
        await out.send_response(sender, {"text": "查到了，包裹在杭州。"})
        await out.send_response(sender, {"custom": TIMELINE})
    else:
        await out.send_response(sender, {"text": f"echo: {text}"})


def build_app() -> Sanic:
    app = Sanic("wechat_stub")
    channel = WeChatInput.from_credentials(None)
    app.blueprint(channel.blueprint(bot), url_prefix="/webhooks/wechat")

    @app.get("/stub/processed")
    async def list_processed(_):
        return response.json(processed)

    @app.post("/stub/push")
    async def push(request):
        await channel.get_output_channel().send_response(request.json["sender"], request.json["message"])
        return response.json({"ok": True})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    build_app().run(host="127.0.0.1", port=args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
