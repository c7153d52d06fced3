"""The demo catalogue's vocabulary: per category, what its products are called and how they are described.

Each category's names come only from its own words (no copper scarf among the carpets),
and no item word appears in two categories, so names never repeat across categories.
`product_names()` enumerates a category's names in a shuffled but deterministic order:
first "<style> <item>", then "<town> <style> <item>" (hundreds per category), then
numbered editions, so any --products count stays distinct and sensible.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass

TOWNS = ["Samarkand", "Bukhara", "Kashgar", "Isfahan", "Herat", "Merv", "Tabriz", "Khotan", "Balkh", "Dunhuang"]


@dataclass(frozen=True)
class CategoryVocabulary:
    name: str
    styles: tuple[str, ...]
    items: tuple[str, ...]
    made: str  # "{origin}" is the town the product comes from
    details: tuple[str, ...]
    price_range: tuple[int, int]  # whole currency units

    def description(self, name: str, origin: str, rng: random.Random) -> str:
        return f"{name}, {rng.choice(self.details)}. {self.made.format(origin=origin)}."


def _vocabulary(name, styles, items, made, details, price_range) -> CategoryVocabulary:
    return CategoryVocabulary(name, tuple(styles.split(", ")), tuple(items.split(", ")), made, details, price_range)


CATALOGUE = [
    _vocabulary(
        "Carpets",
        "Crimson, Indigo, Ivory, Madder Red, Saffron, Walnut, Sea Green, Midnight Blue",
        "Prayer Rug, Kilim, Runner, Hall Carpet, Saddle Rug, Medallion Carpet, Tribal Rug, Cushion Rug",
        "Hand-knotted in {origin} from hand-spun wool",
        ("dyed with madder and indigo", "with a geometric border", "finished with braided fringes",
         "with a field of repeating medallions", "soft underfoot and dense in pile"),
        (120, 2400),
    ),
    _vocabulary(
        "Ceramics",
        "Turquoise, Cobalt, Lustre, Sgraffito, Slip-painted, Ochre, Celadon Green, Sand-glazed",
        "Serving Bowl, Water Jug, Platter, Tile Panel, Olive Dish, Storage Jar, Pitcher, Fruit Bowl",
        "Thrown and fired in {origin}",
        ("glazed inside and out", "painted with a ring of birds", "with a calligraphic band",
         "heavy enough for daily use", "fired twice for a deep glaze"),
        (15, 180),
    ),
    _vocabulary(
        "Copperware",
        "Hammered, Engraved, Tinned, Polished, Chased, Riveted, Etched, Antique",
        "Kettle, Cooking Pot, Ewer, Wash Basin, Coffee Pot, Ladle, Tray, Cauldron",
        "Beaten by hand in the coppersmiths' bazaar of {origin}",
        ("lined with tin for cooking", "with a brass handle", "engraved with vines",
         "that warms to a soft patina", "balanced for pouring"),
        (25, 320),
    ),
    _vocabulary(
        "Glass",
        "Blown, Amber, Emerald, Frosted, Cobalt Blue, Gilded, Smoky, Rose",
        "Goblet, Perfume Bottle, Carafe, Tumbler, Oil Lamp Chimney, Flask, Beaker, Bud Vase",
        "Mouth-blown in {origin}",
        ("with a gilded rim", "light and thin-walled", "with tiny trapped bubbles",
         "etched with a star pattern", "tinted with natural oxides"),
        (12, 150),
    ),
    _vocabulary(
        "Jewellery",
        "Silver, Gold-plated, Filigree, Lapis, Carnelian, Turquoise-set, Enamelled, Pearl",
        "Ring, Bangle, Pendant, Earrings, Anklet, Brooch, Hair Pin, Necklace",
        "Made by a family of jewellers in {origin}",
        ("set with a polished stone", "worked in fine filigree", "on a hand-twisted chain",
         "engraved with a crescent", "light enough to wear every day"),
        (30, 900),
    ),
    _vocabulary(
        "Lamps",
        "Mosaic, Pierced Brass, Stained Glass, Lattice, Star, Moon, Onion Dome, Copper",
        "Lantern, Table Lamp, Ceiling Lamp, Candle Holder, Floor Lamp, Wall Sconce, Night Light, Pendant Light",
        "Assembled by lamp makers in {origin}",
        ("that throws patterned light", "wired for a standard bulb", "with a chain for hanging",
         "pierced in a floral pattern", "with hand-cut glass panes"),
        (35, 420),
    ),
    _vocabulary(
        "Leather",
        "Tooled, Saddle Brown, Camel, Embossed, Oxblood, Tan, Stitched, Black",
        "Satchel, Belt, Wallet, Journal Cover, Pouch, Saddlebag, Slippers, Gloves",
        "Cut and stitched in the tanners' quarter of {origin}",
        ("vegetable-tanned", "with brass fittings", "stitched by hand with waxed thread",
         "that softens with use", "tooled with a border of knots"),
        (20, 360),
    ),
    _vocabulary(
        "Paper",
        "Marbled, Handmade, Mulberry, Illuminated, Gilt-edged, Deckle-edged, Indigo-dyed, Cotton Rag",
        "Notebook, Sketchbook, Letter Set, Scroll, Bookmark, Album, Envelope Pack, Calligraphy Sheet",
        "Made from mulberry bark in {origin}",
        ("bound with linen thread", "with a marbled cover", "good for ink and watercolour",
         "with pages that take a fountain pen", "pressed and dried in the sun"),
        (6, 85),
    ),
    _vocabulary(
        "Silks",
        "Ikat, Damask, Brocade, Raw, Shot, Embroidered, Tie-dyed, Satin",
        "Scarf, Shawl, Stole, Handkerchief, Robe, Cushion Cover, Table Runner, Sash",
        "Woven on a hand loom in {origin}",
        ("that shimmers as it moves", "dyed with plant colours", "with a hand-rolled hem",
         "in a traditional ikat pattern", "light and warm"),
        (25, 600),
    ),
    _vocabulary(
        "Spices",
        "Smoked, Wild, Whole, Cracked, Toasted, Sun-dried, Organic, Hand-picked",
        "Cumin, Caraway, Cardamom, Sumac, Black Pepper, Cinnamon Bark, Coriander Seed, Fenugreek",
        "Gathered and packed in {origin}",
        ("in a tin of 100 grams", "from this year's harvest", "for rice and slow stews",
         "sealed to keep its aroma", "sold by the spice merchants' guild"),
        (4, 60),
    ),
    _vocabulary(
        "Tea",
        "Jasmine, Smoked, Highland, Mountain, Rose, Spiced, Pressed, Mint",
        "Green Tea, Black Tea, Oolong, White Tea, Brick Tea, Chai Blend, Tea Cake, Herbal Infusion",
        "Picked and dried near {origin}",
        ("in a tin of 250 grams", "for three or four infusions", "best brewed below boiling",
         "with a long, sweet finish", "as the caravans carried it"),
        (5, 90),
    ),
    _vocabulary(
        "Woodwork",
        "Carved, Inlaid, Walnut, Cedar, Apricot Wood, Lacquered, Painted, Pierced",
        "Jewellery Box, Chess Set, Book Stand, Spice Box, Serving Board, Comb, Screen, Stool",
        "Carved by woodworkers in {origin}",
        ("inlaid with bone and mother-of-pearl", "oiled to a warm sheen", "joined without nails",
         "carved with a star lattice", "that folds flat"),
        (18, 520),
    ),
    _vocabulary(
        "Incense",
        "Frankincense, Myrrh, Sandalwood, Oud, Amber Resin, Cedar, Benzoin, Musk Rose",
        "Cones, Sticks, Resin Pearls, Burner Set, Bakhoor Chips, Incense Coil, Censer, Smudge Bundle",
        "Blended in {origin}",
        ("that burns slowly and clean", "in a box of twenty", "for a small charcoal burner",
         "with a warm, resinous scent", "made without synthetic perfume"),
        (6, 140),
    ),
    _vocabulary(
        "Porcelain",
        "Blue-and-white, Eggshell, Famille Rose, Celadon, Crackle-glaze, Dragon, Peony, Imperial Yellow",
        "Teacup, Tea Bowl, Rice Bowl, Saucer, Gaiwan, Teapot, Vase, Dinner Plate",
        "Fired in a wood-burning kiln near {origin}",
        ("so thin it glows against the light", "painted by hand under the glaze", "with a matching lid",
         "finished with a gold rim", "that rings when tapped"),
        (14, 480),
    ),
    _vocabulary(
        "Textiles",
        "Suzani, Block-printed, Felted, Quilted, Woven Cotton, Cross-stitch, Patchwork, Kilim-weave",
        "Bedspread, Wall Hanging, Tablecloth, Napkin Set, Throw, Tote Bag, Curtain, Apron",
        "Sewn by a women's cooperative in {origin}",
        ("embroidered in silk thread", "printed with carved wooden blocks", "in washable cotton",
         "quilted in a diamond pattern", "in pomegranate and gold"),
        (15, 380),
    ),
]  # fmt: skip


def category_name(index: int) -> str:
    """The index-th category name: the curated ones, then the same trades from other towns."""
    base = CATALOGUE[index % len(CATALOGUE)].name
    round_ = index // len(CATALOGUE)
    if round_ == 0:
        return base
    if round_ <= len(TOWNS):
        return f"{base} of {TOWNS[round_ - 1]}"
    return f"{base} {round_ + 1}"


def vocabulary(index: int) -> CategoryVocabulary:
    return CATALOGUE[index % len(CATALOGUE)]


def product_names(words: CategoryVocabulary, rng: random.Random) -> Iterator[tuple[str, str]]:
    """Endless distinct (name, town of origin) pairs for one category, in an order set by `rng`."""
    pairs = list(itertools.product(words.styles, words.items))
    rng.shuffle(pairs)
    for style, item in pairs:
        yield f"{style} {item}", rng.choice(TOWNS)
    triples = list(itertools.product(TOWNS, pairs))
    rng.shuffle(triples)
    for town, (style, item) in triples:
        yield f"{town} {style} {item}", town
    for edition in itertools.count(2):
        for style, item in pairs:
            town = rng.choice(TOWNS)
            yield f"{style} {item} from {town}, No. {edition}", town
