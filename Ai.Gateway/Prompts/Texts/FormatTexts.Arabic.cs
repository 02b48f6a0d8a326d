namespace Ai.Gateway.Prompts.Texts;

internal sealed partial record FormatTexts
{
    public static readonly FormatTexts Arabic = new()
    {
        JsonSystem = "أنت مساعد دقيق لا يجيب إلا بصيغة JSON صالحة.",
        JsonSchemaIntro = "يجب أن تكون إجابتك بصيغة JSON صالحة ومطابقة لمخطط JSON Schema التالي:",
        JsonExampleIntro = "يجب أن تكون إجابتك بصيغة JSON وبالبنية نفسها التي في هذا المثال (المفاتيح نفسها وأنواع القيم نفسها):",
        JsonAnyIntro = "يجب أن تكون إجابتك قيمة JSON واحدة صالحة.",
        JsonOnly = "أجب بصيغة JSON فقط، دون أي شرح أو تنسيق Markdown أو علامات لكتل الشيفرة.",

        ContextSystem = "أنت تجيب عن الأسئلة بالاعتماد على الوثائق المقدَّمة إليك فقط. وإذا لم تتضمن الوثائق الإجابة، فصرِّح بذلك بدلًا من التخمين.",
        ContextDocumentsHeading = "الوثائق:",
        ContextQuestionLabel = "السؤال:",
        ContextInstructions = "أجب بالاعتماد على الوثائق أعلاه فقط، واذكر أرقام الوثائق التي استندت إليها، مثل [1]. وإذا لم تتضمن الوثائق الإجابة، فقل إنك لا تعرف. اكتب إجابتك باللغة العربية.",

        ExamplesSystem = "أنت تنجز المهام باتباع نمط الأمثلة المقدَّمة إليك: الصيغة نفسها والأسلوب نفسه ومستوى التفصيل نفسه.",
        ExamplesIntro = "إليك أمثلة على المدخلات والمخرجات المتوقعة:",
        ExampleLabel = "مثال",
        InputLabel = "المدخل:",
        OutputLabel = "المخرج:",
        ExamplesFinal = "والآن اكتب المخرج لهذا المدخل بالصيغة نفسها المتبعة في الأمثلة:",

        CodeSystem = "أنت مهندس برمجيات خبير. تكتب شيفرة صحيحة وآمنة وسهلة الصيانة وفق الأعراف المتبعة في كل لغة برمجة، وتشرح اختياراتك بإيجاز.",
        CodeTaskLabel = "المهمة:",
        CodeLanguageLabel = "لغة البرمجة:",
        CodeLabel = "الشيفرة:",
        CodeAnswer = "أجب بالشيفرة كاملةً في كتلة شيفرة واحدة، ثم أتبعها بشرح موجز باللغة العربية.",

        ExtractionSystem = "أنت تستخرج بيانات منظَّمة من النصوص. تجيب بصيغة JSON فقط، ولا تختلق أبدًا قيمًا لم يذكرها النص.",
        ExtractionIntro = "استخرج الحقول التالية من النص أدناه.",
        ExtractionFieldsHeading = "الحقول:",
        ExtractionTextHeading = "النص:",
        ExtractionRules = "أجب بصيغة JSON فقط: كائن واحد يضم هذه المفاتيح بالضبط دون ترجمة أسمائها، واستخدم null لأي حقل لا يذكره النص.",
        ExtractionSchemaIntro = "يجب أن يطابق الكائنُ مخطط JSON Schema التالي:",
        FieldTypes = new Dictionary<string, string>
        {
            ["string"] = "نص",
            ["number"] = "عدد",
            ["integer"] = "عدد صحيح",
            ["boolean"] = "قيمة منطقية: true أو false",
            ["date"] = "تاريخ بالصيغة YYYY-MM-DD",
            ["array"] = "قائمة",
            ["object"] = "كائن",
        },
    };
}
