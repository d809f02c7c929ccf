"""Word lists for invented names: streets, people, county lines. All fictional combinations."""

from __future__ import annotations

from typing import Final

STREET_WORDS: Final = (
    "Abbey", "Albert", "Alma", "Argyle", "Ash", "Askew", "Balmoral", "Beech", "Belgrave",
    "Birch", "Blake", "Borrowdale", "Bowness", "Bramley", "Briar", "Bridge", "Brook",
    "Burlington", "Buttermere", "Byron", "Caldew", "Cambridge", "Carlton", "Cartmel", "Castle",
    "Cedar", "Chapel", "Chatsworth", "Chester", "Cheviot", "Clifton", "Cockermouth",
    "Coniston", "Crosby", "Crummock", "Cumberland", "Dale", "Derby", "Derwent", "Dovedale",
    "Duddon", "Dunmail", "Eden", "Elm", "Ennerdale", "Eskdale", "Fairfield", "Fell", "Fern",
    "Field", "Finsthwaite", "Furness", "Garden", "Gilpin", "Gladstone", "Glebe", "Grange",
    "Grasmere", "Greenhill", "Grizedale", "Hadrian", "Harbour", "Harcourt", "Hartington",
    "Hawthorn", "Hazel", "Heather", "Helvellyn", "High", "Holly", "Howe", "Irving", "Ivy",
    "Jubilee", "Kendal", "Keswick", "Kirkby", "Kirkstone", "Laburnum", "Lakeland", "Langdale",
    "Larch", "Laurel", "Leven", "Lime", "Lindal", "Linden", "Lonsdale", "Lorton", "Loweswater",
    "Lowther", "Lune", "Maple", "Marsh", "Mayfield", "Meadow", "Mill", "Milton", "Moor",
    "Morecambe", "Mountain", "Nelson", "Newby", "Norfolk", "Oak", "Orchard", "Orton", "Oxford",
    "Park", "Patterdale", "Pennine", "Penrith", "Petteril", "Pine", "Priory", "Queens",
    "Raven", "Regent", "Ribble", "Richmond", "Rigg", "Rose", "Rowan", "Rydal", "Ryedale",
    "St Andrews", "St Georges", "St Lukes", "St Marys", "Sandside", "Scafell", "School",
    "Seathwaite", "Selside", "Shap", "Silverdale", "Skiddaw", "Solway", "Spring", "Stanley",
    "Station", "Stainton", "Sunny", "Swarthmoor", "Sycamore", "Tarn", "Thirlmere", "Thornton",
    "Tower", "Troutbeck", "Ullswater", "Union", "Urswick", "Vale", "Victoria", "Walton",
    "Wasdale", "Water", "Waverley", "Wellington", "Westfield", "Whinfield", "Willow",
    "Windermere", "Windsor", "Woodland", "Wordsworth", "Wythburn", "Yew", "York",
)  # fmt: skip
# Street suffixes by neighbourhood character (see spec.CHARACTERS).
STREET_SUFFIXES: Final[dict[str, tuple[str, ...]]] = {
    "centre": ("Street", "Street", "Street", "Lane", "Place", "Row", "Square", "Terrace"),
    "terraces": ("Street", "Street", "Street", "Road", "Terrace", "Terrace", "Place"),
    "estate": ("Close", "Crescent", "Grove", "Avenue", "Drive", "Walk", "Court", "Way"),
    "suburb": ("Road", "Lane", "Avenue", "Drive", "Gardens", "Rise", "View", "Park"),
}
# When a big town runs out of word/suffix pairs, these make new ones.
STREET_PREFIXES: Final = ("Upper", "Lower", "North", "South", "East", "West", "Old", "New")

FIRST_NAMES: Final = (
    "Aaron", "Adam", "Alan", "Amy", "Andrew", "Anna", "Ben", "Beth", "Callum", "Carl", "Chloe",
    "Chris", "Claire", "Craig", "Dan", "Darren", "Dave", "Dean", "Emma", "Gary", "Gemma",
    "Graham", "Hannah", "Ian", "Jack", "Jade", "James", "Jo", "John", "Karen", "Kate",
    "Kevin", "Kirsty", "Lee", "Liam", "Lisa", "Mark", "Martin", "Megan", "Mike", "Neil",
    "Nicola", "Paul", "Phil", "Rachel", "Rob", "Ryan", "Sam", "Sarah", "Scott", "Sean",
    "Stephen", "Stuart", "Tom", "Tony", "Vicky", "Wayne", "Zoe",
)  # fmt: skip
LAST_NAMES: Final = (
    "Armstrong", "Atkinson", "Bell", "Bowman", "Brown", "Burns", "Carr", "Cowan", "Dixon",
    "Dobson", "Elliott", "Fell", "Fisher", "Graham", "Hall", "Harrison", "Hewitson", "Hodgson",
    "Holme", "Irving", "Jackson", "Johnston", "Kirkbride", "Lancaster", "Little", "Lowther",
    "Martindale", "Milburn", "Moffat", "Nicholson", "Nixon", "Noble", "Park", "Pattinson",
    "Relph", "Richardson", "Ritson", "Robinson", "Routledge", "Scott", "Sewell", "Simpson",
    "Stephenson", "Storey", "Tyson", "Walker", "Watson", "Wilson", "Wood", "Wright",
)  # fmt: skip

LINE_NAMES: Final = (
    "ACE", "BLADE", "DEXY", "FLASH", "JOKER", "KING", "MAGIC", "NOVA", "REX", "SPICE", "TANK",
    "ZED", "BANDO", "COBRA", "DIAMOND", "GHOST", "HOLLY", "JAY", "LUCKY", "MOJO", "OZZY",
    "PRINCE", "ROCKY", "SHADOW", "TOMMY", "VIPER",
)  # fmt: skip
LINE_ORIGINS: Final = (
    "Liverpool", "Merseyside", "Manchester", "Salford", "Preston", "Blackpool", "Birmingham",
    "West Yorkshire", "Newcastle", "Glasgow", "London",
)  # fmt: skip

# House names. Some are as common as they are in real registers ("Rose Cottage" in many
# towns); the rest are made of a word and an ending ("Beck Cottage", "Rowan Lea").
CLASSIC_HOUSE_NAMES: Final = (
    "Rose Cottage", "Ivy Cottage", "The Old Vicarage", "The Old School House",
    "The Old Forge", "The Old Post Office", "The Coach House", "Fell View", "Fairview",
    "Hillcrest", "Sunnyside", "The Laurels", "The Willows", "The Croft", "The Gables",
    "Greystones", "Brookside", "Woodlands", "Orchard House", "The Haven", "The Nook",
    "Mill House", "Stable Cottage", "The Bungalow", "Bay View", "Sea View", "Lake View",
    "High Bank", "Dale End", "Fellside", "Moorside", "Hillside", "Holly Bank", "Beck Side",
)  # fmt: skip
HOUSE_NAME_WORDS: Final = (
    "Ash", "Beck", "Beech", "Birch", "Bramble", "Briar", "Brook", "Crag", "Elm", "Fell",
    "Fern", "Gill", "Glebe", "Hawthorn", "Heather", "High", "Hollin", "Holly", "Howe",
    "Ivy", "Larch", "Laurel", "Lilac", "Low", "Maple", "Meadow", "Moss", "Oak", "Orchard",
    "Pine", "Primrose", "Raven", "Rose", "Rowan", "Scar", "Sike", "Stone", "Sunny", "Tarn",
    "Thistle", "Thorn", "Wells", "Willow", "Yew",
)  # fmt: skip
HOUSE_NAME_ENDINGS: Final = (
    "Cottage", "Cottage", "Cottage", "House", "House", "View", "Lea", "Bank", "Croft",
    "Garth", "Side", "Dene", "Mount", "Lodge", "End", "Nook", "Rigg", "Brow", "Villa",
)  # fmt: skip
# Named blocks of flats: a word (the street words) and an ending by neighbourhood character.
BLOCK_ENDINGS: Final[dict[str, tuple[str, ...]]] = {
    "centre": ("House", "House", "Court", "Chambers", "Mews", "Buildings"),
    "terraces": ("House", "Court", "Mews"),
    "estate": ("Court", "Court", "House", "House", "Heights", "Point"),
    "suburb": ("Court", "Lodge", "Mews", "House"),
}
TOWER_ENDINGS: Final = ("Tower", "House", "Heights")  # estate blocks of 36 flats or more
