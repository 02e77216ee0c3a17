"""A chat model behind an OpenAI-compatible HTTP endpoint: llama.cpp's server, Ollama, vLLM.

For readers who run a bigger model locally. Only the standard library is used (``urllib``); each call
POSTs ``{"model", "messages", "temperature", "max_tokens", "stop"}`` to ``<base_url>/chat/completions``
and returns ``choices[0].message.content``. A missing server, a timeout, an error status or a reply
that is not the expected JSON raise :class:`~llmbook.prompting.models.LanguageModelError` with what
happened and what to try.

Typical base URLs: llama.cpp ``llama-server -m model.gguf --port 8080`` -> ``http://127.0.0.1:8080/v1``;
Ollama -> ``http://127.0.0.1:11434/v1``; vLLM ``vllm serve <model>`` -> ``http://127.0.0.1:8000/v1``.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Sequence

from llmbook.prompting.models import ChatModel, LanguageModelError
from llmbook.validation import positive_int, positive_number


class OpenAIChat(ChatModel):
    """A :class:`ChatModel` that asks an OpenAI-compatible ``/chat/completions`` endpoint.

    Args:
        base_url: the API root, e.g. ``"http://127.0.0.1:8080/v1"``.
        model: the model name the server expects (llama.cpp accepts any; Ollama wants e.g. ``"llama3.1"``).
        temperature: 0 for (near-)greedy replies.
        max_tokens: the longest reply, in tokens.
        stop: strings at which the server ends the reply.
        timeout: seconds to wait for the whole reply.
        api_key: sent as ``Authorization: Bearer <key>`` if given (local servers need none).
        system: an optional system message before every conversation.

    Raises:
        ValueError: for a base URL that is not http(s), a negative temperature, or non-positive
            ``max_tokens`` or ``timeout``.

    >>> client = OpenAIChat("http://127.0.0.1:8080/v1", model="smollm2", max_tokens=32, stop=["\\n\\n"])
    >>> client.request_body([{"role": "user", "content": "Hi"}])["max_tokens"]
    32
    """

    def __init__(self, base_url: str = "http://127.0.0.1:8080/v1", model: str = "local", *,
                 temperature: float = 0.0, max_tokens: int = 256, stop: Sequence[str] | None = None,
                 timeout: float = 60.0, api_key: str | None = None, system: str | None = None):
        super().__init__(self._post, system=system)
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r} "
                             "(e.g. http://127.0.0.1:8080/v1 for llama.cpp's server)")
        if not isinstance(model, str) or not model:
            raise ValueError(f"model must be the server's model name (a non-empty string), got {model!r}")
        if isinstance(stop, str):
            stop = [stop]
        if stop is not None and not all(isinstance(s, str) and s for s in stop):
            raise ValueError(f"stop must be a list of non-empty strings, got {stop!r}")
        self.base_url, self.model = base_url.rstrip("/"), model
        self.temperature = 0.0 if temperature == 0 else positive_number("temperature", temperature)
        self.max_tokens = positive_int("max_tokens", max_tokens)
        self.stop = None if stop is None else list(stop)
        self.timeout = positive_number("timeout", timeout)
        self.api_key = api_key

    @property
    def url(self) -> str:
        """The endpoint: ``<base_url>/chat/completions``."""
        return f"{self.base_url}/chat/completions"

    def request_body(self, messages: list[dict]) -> dict:
        """The JSON object POSTed for ``messages`` (``stop`` only when set)."""
        body = {"model": self.model, "messages": messages, "temperature": self.temperature,
                "max_tokens": self.max_tokens}
        if self.stop:
            body["stop"] = self.stop
        return body

    def _post(self, messages: list[dict]) -> str:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=json.dumps(self.request_body(messages)).encode("utf-8"),
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            raise LanguageModelError(f"{self.url} answered HTTP {error.code} {error.reason}: {detail or '(no body)'}"
                                     " - check the model name and the request") from error
        except urllib.error.URLError as error:
            if isinstance(error.reason, (TimeoutError, socket.timeout)):
                raise self._timed_out() from error
            raise LanguageModelError(f"cannot reach {self.url}: {error.reason}. Is the server running? "
                                     "(llama.cpp: llama-server -m model.gguf --port 8080; "
                                     "Ollama: ollama serve, base_url http://127.0.0.1:11434/v1)") from error
        except (TimeoutError, socket.timeout) as error:
            raise self._timed_out() from error
        except (ConnectionError, OSError) as error:
            raise LanguageModelError(f"the connection to {self.url} failed: {error}") from error
        return self._content(raw)

    def _timed_out(self) -> LanguageModelError:
        return LanguageModelError(f"{self.url} gave no reply within {self.timeout:g} s: pass a larger timeout= "
                                  "or a smaller max_tokens=")

    def _content(self, raw: bytes) -> str:
        text = raw.decode("utf-8", "replace")
        try:
            reply = json.loads(text)
        except json.JSONDecodeError as error:
            raise LanguageModelError(f"{self.url} did not answer JSON: {text[:200]!r}") from error
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as error:
            raise LanguageModelError(f"{self.url} answered JSON without choices[0].message.content: "
                                     f"{text[:300]}") from error
        if not isinstance(content, str):
            raise LanguageModelError(f"{self.url} answered content of type {type(content).__name__}, not text: "
                                     f"{text[:300]}")
        return content
