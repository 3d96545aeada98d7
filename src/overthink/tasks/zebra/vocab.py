"""Attributes for zebra puzzles in the BBEH wording: a header line, values, and how a clue names one person.

`ref` is a template for "the person with this value" inside a sentence; "{}" is the value.
"""

from __future__ import annotations

# name -> (header, ref template, values); every attribute has at least 8 values.
ATTRIBUTES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "name": ("Everyone has a different name", "{}",
             ("Charlie", "Ahmed", "Mohan", "Randy", "Katherine", "Rafael", "Nour", "Mallika", "Joseph", "Siva")),
    "nationality": ("Everyone is a different nationality", "the {}",
                    ("Mexican", "Swede", "Brit", "Turkish", "Chinese", "Portuguese", "Malaysian", "Nepali",
                     "Israeli", "Australian")),
    "food": ("Everyone likes a different food", "the person who likes {}",
             ("noodles", "pizza", "kebabs", "sandwiches", "curry", "soups", "pasta", "tacos", "burgers")),
    "drink": ("Everyone drinks a different drink", "the person who drinks {}",
              ("beer", "water", "hot chocolate", "orange juice", "lemonade", "iced coffee", "coffee", "tea", "milk")),
    "sport": ("Everyone plays a different sport", "the {} player",
              ("basketball", "table tennis", "tennis", "cricket", "baseball", "ice hockey", "volleyball",
               "badminton", "squash")),
    "instrument": ("Everyone plays a different musical instrument", "the {} player",
                   ("guitar", "piano", "oboe", "flute", "cello", "saxophone", "violin", "drums", "trumpet")),
    "house": ("Everyone lives in a different colored house", "the person who lives in the {} house",
              ("indigo", "pink", "beige", "turquoise", "orange", "red", "white", "silver", "black")),
    "flower": ("Everyone likes a different type of flower", "the person who likes {}",
               ("roses", "peonies", "dahlias", "lilies", "marigolds", "tulips", "daisies", "orchids", "carnations")),
    "books": ("Everyone reads a different genre of books", "the person who reads {} books",
              ("fantasy", "humor", "romance", "short story", "spiritual", "mystery", "history", "science fiction")),
    "pet": ("Everyone keeps a different pet", "the person who keeps a {}",
            ("cat", "dog", "parrot", "hamster", "rabbit", "turtle", "goldfish", "lizard", "ferret")),
    "car": ("Everyone drives a different car", "the person who drives the {}",
            ("Lexus", "Mercedes", "Tesla", "McLaren", "Hyundai", "BMW", "Toyota", "Ford", "Kia")),
    "hobby": ("Everyone has a different favorite hobby", "the person who likes {}",
              ("mixology", "sailing", "parkour", "cheese making", "astronomy", "knitting", "camping", "canoeing")),
}

ORDINALS = ("1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th")
