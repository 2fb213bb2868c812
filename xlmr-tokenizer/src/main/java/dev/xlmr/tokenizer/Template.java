package dev.xlmr.tokenizer;

import java.util.List;

/**
 * A post-processing template: where the special tokens go around the first (A) and second (B) text,
 * as Hugging Face's TemplateProcessing / RobertaProcessing describe it.
 */
record Template(List<Item> single, List<Item> pair) {

    /** One template element: a special token, or a text ({@code sequence} 0 for A, 1 for B). */
    record Item(int sequence, int id, String token, int typeId) {
        static Item special(int id, String token, int typeId) {
            return new Item(-1, id, token, typeId);
        }

        static Item sequence(int seq, int typeId) {
            return new Item(seq, -1, null, typeId);
        }

        boolean isSpecial() {
            return sequence < 0;
        }
    }

    /** XLM-R's layout: {@code <s> A </s>} and {@code <s> A </s></s> B </s>}. */
    static Template roberta(int bos, String bosToken, int eos, String eosToken) {
        Item s = Item.special(bos, bosToken, 0);
        Item e = Item.special(eos, eosToken, 0);
        return new Template(List.of(s, Item.sequence(0, 0), e),
                List.of(s, Item.sequence(0, 0), e, e, Item.sequence(1, 0), e));
    }

    /** Number of special tokens added to a single text or a pair. */
    int added(boolean pair) {
        int n = 0;
        for (Item i : pair ? this.pair : single) {
            if (i.isSpecial()) {
                n++;
            }
        }
        return n;
    }
}
