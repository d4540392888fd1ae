from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(title="lab orders")


class Order(BaseModel):
    sku: str
    quantity: int
    unit_cents: int

    @property
    def total_cents(self) -> int:
        return self.quantity * self.unit_cents


ORDERS = [Order(sku="A-1", quantity=3, unit_cents=250), Order(sku="B-7", quantity=1, unit_cents=1999)]


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/orders/total")
def total():
    return {"orders": len(ORDERS), "total_cents": sum(o.total_cents for o in ORDERS)}
