"""Questions a run asked, their answers (one per question, first click wins) and whether
they were sent."""

from __future__ import annotations

import json
from typing import Any, cast

from bot.domain import Answer, AnswerRecorded, QuestionSet, TypedAnswer
from bot.stores import codec, keys

# KEYS: the question set. An answer is recorded unless its question has one or the
# answers were sent: the check and the write must be one step.
_ANSWER_LUA = """
local a = cjson.decode(ARGV[1])
if redis.call('HEXISTS', KEYS[1], 'sent') == 1 then return 'closed' end
if redis.call('HSETNX', KEYS[1], a.field, a.answer) == 0 then return 'taken' end
return 'recorded'
"""

_ANSWER_FIELD = "a:"


class QuestionStore:
    def __init__(self, client: Any) -> None:
        self.redis = client
        self._answer = client.register_script(_ANSWER_LUA)

    async def save(self, qs: QuestionSet) -> None:
        key = keys.questions(qs.team, qs.run_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "agent_id": qs.agent_id,
                    "channel": qs.channel,
                    "thread_ts": qs.thread_ts,
                    "message_ts": qs.message_ts,
                    "questions": json.dumps(qs.questions),
                    "intro": qs.intro,
                },
            )
            pipe.expire(key, keys.seconds(keys.QUESTIONS_TTL))
            await pipe.execute()

    async def get(self, team: str, run_id: str) -> QuestionSet | None:
        data = cast(dict[str, str], await self.redis.hgetall(keys.questions(team, run_id)))
        if not data or "questions" not in data:
            return None
        answers: dict[int, Answer] = {}
        for name, raw in data.items():
            if name.startswith(_ANSWER_FIELD) and name[len(_ANSWER_FIELD) :].isdigit():
                answer = codec.load_answer(raw)
                if answer is not None:
                    answers[int(name[len(_ANSWER_FIELD) :])] = answer
        try:
            questions = json.loads(data["questions"])
        except ValueError:
            return None
        return QuestionSet(
            team=team,
            run_id=run_id,
            agent_id=data.get("agent_id", ""),
            channel=data.get("channel", ""),
            thread_ts=data.get("thread_ts", ""),
            message_ts=data.get("message_ts", ""),
            questions=questions if isinstance(questions, list) else [],
            answers=answers,
            sent="sent" in data,
            intro=data.get("intro", ""),
        )

    async def record_answer(
        self, team: str, run_id: str, question: int, answer: Answer
    ) -> AnswerRecorded:
        args = {"field": f"{_ANSWER_FIELD}{question}", "answer": codec.dump_answer(answer)}
        result = await self._answer(
            keys=[keys.questions(team, run_id)], args=[json.dumps(args, ensure_ascii=False)]
        )
        return AnswerRecorded(str(result))

    async def open_typed_answer(self, team: str, token: str, opened: TypedAnswer) -> None:
        key = keys.typed_answer(team, token)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, codec.dump_typed(opened))
            pipe.expire(key, keys.seconds(keys.TYPED_ANSWER_TTL))
            await pipe.execute()

    async def typed_answer(self, team: str, token: str) -> TypedAnswer | None:
        return codec.load_typed(await self.redis.get(keys.typed_answer(team, token)))

    async def mark_sent(self, team: str, run_id: str, by: str) -> bool:
        return bool(await self.redis.hsetnx(keys.questions(team, run_id), "sent", by))
