"""The one error every marsview reader raises: it names the file, the line and the keyword."""

from __future__ import annotations


class ParseError(ValueError):
    """A file marsview cannot use, with where and why: ``"{path}:{line}: {keyword}: {message}"``.

    ``line`` is 1-based (0 when the problem concerns the whole file, e.g. an empty file); ``keyword``
    is the KVN keyword, XML element or data-line field at fault.
    """

    def __init__(self, path, line: int, keyword: str, message: str):
        self.path = str(path)
        self.line = int(line)
        self.keyword = str(keyword)
        self.message = str(message)
        super().__init__(f"{self.path}:{self.line}: {self.keyword}: {self.message}")

    def __reduce__(self):  # keep pickling (worker processes) working with the 4-argument constructor
        return (type(self), (self.path, self.line, self.keyword, self.message))
