"""Models that exercise what a rule can say: a foreign key, a many-to-many used from both sides,
a custom primary key, and a many-to-many without a reverse accessor on a model without a rule."""

from django.db import models


class Shelf(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    code = models.SlugField(primary_key=True)
    label = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.label


class Book(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    shelf = models.ForeignKey(Shelf, on_delete=models.CASCADE, related_name="books")
    tags = models.ManyToManyField(Tag, related_name="books", blank=True)
    times_opened = models.IntegerField(default=0)  # not in the rule's `fields`: changing it touches nothing

    def __str__(self) -> str:
        return self.title


class Reader(models.Model):
    name = models.CharField(max_length=100)
    favourites = models.ManyToManyField(Book, related_name="+")

    def __str__(self) -> str:
        return self.name
