def cached(client, *urls):
    """Each URL read twice: the second read must be a hit."""
    for url in urls:
        client.get(url)
        assert client.get(url)["X-Cache"] == "hit", url


def page(client, url: str) -> str:
    return client.get(url).content.decode()
