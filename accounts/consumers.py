"""The user's own socket: notices for the home page (reminders, breaches), and a liveness ping."""

from typing import Any

from config.ws import SulhConsumer, user_group


class UserConsumer(SulhConsumer):
    async def joined(self) -> None:
        await self.send_json({"type": "welcome", "user": self.user.pk})

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        if content["type"] == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_error("unknown_type", "This socket only answers ping.")

    async def user_notice(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "notice", "kind": event["kind"], "data": event.get("data", {})})


__all__ = ["UserConsumer", "user_group"]
