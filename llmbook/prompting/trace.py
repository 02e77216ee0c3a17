"""What a prompting method produces: the :class:`Prompt` it sends, each :class:`Step` (one call to the model)
and the :class:`Trace` of all of them, which a chapter prints to show how an answer came about.

>>> prompt = Prompt(shots=(("think, machine", '"ke"'),), question="cat, dog")
>>> print(prompt)
Q: "think, machine"
A: "ke"
<BLANKLINE>
Q: "cat, dog"
A:
>>> prompt.messages[-1]
{'role': 'user', 'content': 'Q: "cat, dog"'}
>>> trace = Trace("standard", "cat, dog", (Step("cat, dog", prompt, ' "tg"', "tg"),))
>>> print(trace)
standard: "cat, dog"
1. Q: "cat, dog"
   A:  "tg"
answer: tg
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    """A few-shot prompt: solved ``(question, answer)`` pairs, then the question to answer.

    ``text`` renders it for a completion model, ``messages`` for a chat model.
    """

    shots: tuple[tuple[str, str], ...]
    question: str

    @property
    def text(self) -> str:
        """``Q: "question"`` / ``A: answer`` blocks separated by blank lines, ending with ``A:``."""
        blocks = [f'Q: "{question}"\nA: {answer}' for question, answer in self.shots]
        return "\n\n".join(blocks + [f'Q: "{self.question}"\nA:'])

    @property
    def messages(self) -> list[dict]:
        """One user turn per question and one assistant turn per answer, ending with the question."""
        messages = []
        for question, answer in self.shots:
            messages += [{"role": "user", "content": f'Q: "{question}"'}, {"role": "assistant", "content": answer}]
        return messages + [{"role": "user", "content": f'Q: "{self.question}"'}]

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Step:
    """One call to the model: the (sub-)question, the prompt it got, its reply and the extracted answer."""

    question: str
    prompt: Prompt
    reply: str
    answer: str


@dataclass(frozen=True)
class Trace:
    """What a prompting method did: every prompt and reply, and the answer.

    Attributes:
        method: ``"standard"``, ``"chain-of-thought"`` or ``"least-to-most"``.
        question: the question asked.
        steps: the solving calls, in order (one for standard and chain-of-thought prompting).
        decomposition: least-to-most's decomposition call (None otherwise, or when the sub-questions
            were given).
    """

    method: str
    question: str
    steps: tuple[Step, ...]
    decomposition: Step | None = None

    @property
    def answer(self) -> str:
        """The last step's answer."""
        return self.steps[-1].answer

    @property
    def subquestions(self) -> tuple[str, ...]:
        """The questions of the steps, in order (for least-to-most: the sub-problems, the question last)."""
        return tuple(step.question for step in self.steps)

    def format(self, prompts: bool = False) -> str:
        """The trace as text: each question and reply, and with ``prompts=True`` every prompt in full."""
        lines = [f'{self.method}: "{self.question}"']
        if self.decomposition is not None:
            if prompts:
                lines += ["--- decomposition prompt ---", self.decomposition.prompt.text, "---"]
            lines.append(f"decomposition: {self.decomposition.reply}")
        for number, step in enumerate(self.steps, 1):
            if prompts:
                lines += [f"--- prompt {number} ---", step.prompt.text, "---"]
            lines += [f'{number}. Q: "{step.question}"', f"   A: {step.reply}"]
        lines.append(f"answer: {self.answer}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()
