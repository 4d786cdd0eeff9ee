"""The page's sections, one module each, every one a `render(dashboard) -> str` of HTML."""
