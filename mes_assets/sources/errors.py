"""Exceptions raised by the data-source layer.

* :class:`DataQualityError` -- the input data is wrong (duplicate or unordered timestamps,
  inconsistent OHLC, unparseable values, ...). It subclasses ``ValueError`` so callers that
  already treat bad values as ``ValueError`` keep working. The sources never repair such data
  by inventing values.
* :class:`MissingCredentialsError` -- a live client was asked for without its API key. The
  message names the environment variable to set; it never contains a key.
* :class:`SourceUnavailableError` -- a recorded file or a remote service cannot be reached.
"""

from __future__ import annotations

__all__ = ["DataQualityError", "MissingCredentialsError", "SourceUnavailableError"]


class DataQualityError(ValueError):
    """Input market data violates an invariant; nothing is patched or made up."""


class MissingCredentialsError(RuntimeError):
    """A live client needs an API key that was not given.

    Parameters
    ----------
    env_var
        Name of the environment variable that holds the key, e.g. ``"DATABENTO_API_KEY"``.
    client
        Human name of the live client, e.g. ``"Databento"``.
    """

    def __init__(self, env_var: str, client: str) -> None:
        self.env_var = env_var
        self.client = client
        super().__init__(
            f"{env_var} is not set: export it to use the live {client} client, "
            "or leave MES_SOURCE_MODE=replay to replay recorded files"
        )

    def __reduce__(self):  # keep the two-argument constructor picklable
        return (type(self), (self.env_var, self.client))


class SourceUnavailableError(RuntimeError):
    """A recorded file or a remote endpoint is missing or did not answer usably."""
