"""A custom bot (CUSTOM_BOT) for the Node tests, driven through boto3.

Run with the repository's venv python (see chatjs-bots.test.js). The Liaison endpoint and the
server's admin keys come from the environment:

    LIAISON_ENDPOINT            e.g. http://127.0.0.1:43123
    LIAISON_ACCESS_KEY_ID       admin key (signs the `connect` client, SigV4)
    LIAISON_SECRET_ACCESS_KEY
    LIAISON_REGION              default us-east-1

Commands arrive as JSON lines on stdin; every command gets exactly one JSON line on stdout:
{"id": <the command's id>, "ok": true, "result": {...}} or
{"id": ..., "ok": false, "error": {"code", "message", "status"}}. Once the clients are built the
script prints {"ready": true}. Nothing else is written to stdout (diagnostics go to stderr).

    {"id": 1, "op": "join", "InstanceId": "...", "ContactId": "...", "DisplayName": "Bot"}
        CreateParticipant (CUSTOM_BOT), then at once CreateParticipantConnection with
        ConnectParticipant=True. Result: ParticipantId, ConnectionToken, WebsocketUrl.
    {"id": 2, "op": "message", "text": "...", "contentType": "text/plain"}   SendMessage
    {"id": 3, "op": "typing"}                                                   SendEvent (typing)
    {"id": 4, "op": "receipt", "kind": "read" | "delivered", "messageId": "..."}
    {"id": 5, "op": "transcript"}                                               GetTranscript
    {"id": 6, "op": "disconnect"}                                               DisconnectParticipant
    {"id": 7, "op": "exit"}
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

TYPING = "application/vnd.amazonaws.connect.event.typing"
RECEIPTS = {
    "read": "application/vnd.amazonaws.connect.event.message.read",
    "delivered": "application/vnd.amazonaws.connect.event.message.delivered",
}


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


def client(service: str, access_key: str, secret_key: str):
    return boto3.client(
        service,
        endpoint_url=os.environ["LIAISON_ENDPOINT"],
        region_name=os.environ.get("LIAISON_REGION", "us-east-1"),
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        # One attempt: a retried call would hide what the server answered.
        config=Config(retries={"total_max_attempts": 1}),
    )


class Bot:
    def __init__(self) -> None:
        self.connect = client("connect", os.environ["LIAISON_ACCESS_KEY_ID"],
                              os.environ["LIAISON_SECRET_ACCESS_KEY"])
        # The participant service authenticates with X-Amz-Bearer; the keys are never checked.
        self.participant = client("connectparticipant", "dummy", "dummy")
        self.connection_token: str | None = None
        self.participant_id: str | None = None
        self._warm_up()

    def _warm_up(self) -> None:
        """One refused call per client, so that the first real call (which has only a short
        window before the participant's place lapses) pays no lazy set-up costs."""
        for call in (
            lambda: self.participant.create_participant_connection(
                ParticipantToken="warm-up", Type=["CONNECTION_CREDENTIALS"]),
            lambda: self.connect.describe_contact(
                InstanceId="00000000-0000-4000-8000-000000000000",
                ContactId="00000000-0000-4000-8000-000000000000"),
        ):
            try:
                call()
            except ClientError:
                pass

    def token(self) -> str:
        if not self.connection_token:
            raise RuntimeError("the bot has not joined")
        return self.connection_token

    def join(self, cmd: dict) -> dict:
        t0 = time.monotonic()
        created = self.connect.create_participant(
            InstanceId=cmd["InstanceId"],
            ContactId=cmd["ContactId"],
            ParticipantDetails={"ParticipantRole": "CUSTOM_BOT",
                                "DisplayName": cmd.get("DisplayName", "Bot")},
        )
        t1 = time.monotonic()
        connection = self.participant.create_participant_connection(
            ParticipantToken=created["ParticipantCredentials"]["ParticipantToken"],
            Type=["WEBSOCKET", "CONNECTION_CREDENTIALS"],
            ConnectParticipant=True,
        )
        t2 = time.monotonic()
        self.participant_id = created["ParticipantId"]
        self.connection_token = connection["ConnectionCredentials"]["ConnectionToken"]
        return {
            "ParticipantId": self.participant_id,
            "ConnectionToken": self.connection_token,
            "WebsocketUrl": connection.get("Websocket", {}).get("Url"),
            "createMs": round((t1 - t0) * 1000),
            "connectMs": round((t2 - t1) * 1000),
        }

    def message(self, cmd: dict) -> dict:
        r = self.participant.send_message(ConnectionToken=self.token(),
                                          ContentType=cmd.get("contentType", "text/plain"),
                                          Content=cmd["text"])
        return {"Id": r["Id"], "AbsoluteTime": r["AbsoluteTime"]}

    def typing(self, _cmd: dict) -> dict:
        r = self.participant.send_event(ConnectionToken=self.token(), ContentType=TYPING)
        return {"Id": r["Id"], "AbsoluteTime": r["AbsoluteTime"]}

    def receipt(self, cmd: dict) -> dict:
        r = self.participant.send_event(ConnectionToken=self.token(),
                                        ContentType=RECEIPTS[cmd["kind"]],
                                        Content=json.dumps({"messageId": cmd["messageId"]}))
        return {"Id": r["Id"], "AbsoluteTime": r["AbsoluteTime"]}

    def transcript(self, _cmd: dict) -> dict:
        r = self.participant.get_transcript(ConnectionToken=self.token(), MaxResults=100,
                                            ScanDirection="FORWARD", SortOrder="ASCENDING")
        return {"InitialContactId": r.get("InitialContactId"), "Transcript": r.get("Transcript", [])}

    def disconnect(self, _cmd: dict) -> dict:
        self.participant.disconnect_participant(ConnectionToken=self.token())
        return {}


def main() -> int:
    bot = Bot()
    emit({"ready": True})
    ops = {"join": bot.join, "message": bot.message, "typing": bot.typing,
           "receipt": bot.receipt, "transcript": bot.transcript, "disconnect": bot.disconnect}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd_id = None
        try:
            cmd = json.loads(line)
            cmd_id = cmd.get("id")
            if cmd.get("op") == "exit":
                emit({"id": cmd_id, "ok": True, "result": {}})
                return 0
            op = ops.get(cmd.get("op"))
            if op is None:
                raise ValueError(f"unknown op {cmd.get('op')!r}")
            emit({"id": cmd_id, "ok": True, "result": op(cmd)})
        except ClientError as e:
            err = e.response.get("Error", {})
            emit({"id": cmd_id, "ok": False, "error": {
                "code": err.get("Code"), "message": err.get("Message"),
                "status": e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")}})
        except Exception as e:  # noqa: BLE001 - reported to the test, which fails on it
            traceback.print_exc(file=sys.stderr)
            emit({"id": cmd_id, "ok": False, "error": {"code": type(e).__name__, "message": str(e)}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
