"""The web edition (`postcli site`, DESIGN section 7): a static site of the published issues.

    published.py   which issues are published, and the date each shows
    pages.py       an issue -> its page (the free variant through templates/site/)
    listing.py     the index, the tag pages and 404.html
    feeds.py       feed.xml (Atom) and sitemap.xml
    meta.py        titles, descriptions, canonical URLs, Open Graph, JSON-LD
    assets.py      images: hashed names, resizing, metadata stripped (Pillow)
    state.py       what the last build made, so the next renders only what changed
    output.py      writing only changed bytes, removing what is no longer published
    build.py       the build itself: `build_site`
    serve.py       `--serve`: the folder on 127.0.0.1, rebuilt on every save

Premium-only content never reaches anything here: the pages are rendered from the free
variant's parsed tokens, and only the images that variant shows are published.
"""
